package sync

import (
	"context"
	"slices"
	"testing"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/provision"
)

// poolBook is a provisioner that only keeps a book of pools, to test the reconciler's policy of
// when nodes are asked for and given back; the real provisioners have their own tests.
type poolBook struct {
	pools    map[string]provision.Need
	released []string
}

func (p *poolBook) Ensure(_ context.Context, n provision.Need) (provision.NodeState, error) {
	p.pools[n.Workspace] = n
	return provision.NodeState{Reason: "Provisioning"}, nil
}

func (p *poolBook) Release(_ context.Context, ws string) error {
	delete(p.pools, ws)
	p.released = append(p.released, ws)
	return nil
}

func (p *poolBook) List(context.Context) ([]string, error) {
	var out []string
	for k := range p.pools {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

func TestNodesAreAskedForAndReleasedOnlyWhenSafe(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	src := &fixedSource{}
	book := &poolBook{pools: map[string]provision.Need{}}
	r := NewReconciler(src, &Files{FS: memfs.New()}, presets.Default(), Options{Provisioner: book})
	phi := example(t, "inference/phi-3-mini.yaml")
	llama := example(t, "multi-gpu/llama-3.3-70b-multinode.yaml")
	qwen := example(t, "inference/qwen-coder-vllm-config.yaml")

	src.set("c1", map[string]string{"a.yaml": phi, "b.yaml": llama, "c.yaml": qwen})
	_, err := r.SyncOnce(ctx)
	is.NoErr(err)
	need := book.pools["llm/llama-3-3-70b"]
	is.Equal(need.InstanceType, "Standard_NC48ads_A100_v4")
	is.Equal(need.Count, 2)
	is.Equal(need.GPUsPerNode, 2)
	is.Equal(need.Labels["apps"], "llama-3-3-70b")
	is.Equal(need.DiskGiB, 211) // int(131.42Gi of weights + 80)

	// A broken file: its pool stays.
	src.set("c2", map[string]string{"a.yaml": phi, "b.yaml": "kind: [\n", "c.yaml": qwen})
	res, err := r.SyncOnce(ctx)
	is.NoErr(err)
	is.Equal(len(book.released), 0)
	is.True(res.PruneBlocked != "" || len(book.pools) == 3)

	// An emptied folder: no pool is released without --allow-mass-prune.
	src.set("c3", map[string]string{})
	res, err = r.SyncOnce(ctx)
	is.NoErr(err)
	is.Equal(len(book.released), 0)
	is.True(res.PruneBlocked != "")

	// One workspace of three removed: its pool goes.
	src.set("c4", map[string]string{"a.yaml": phi, "c.yaml": qwen})
	_, err = r.SyncOnce(ctx)
	is.NoErr(err)
	is.Equal(book.released, []string{"llm/llama-3-3-70b"})
}
