package faults

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
)

// hostileCase changes the repository folder; the sync that follows must refuse it with a problem
// whose text starts with want (file, and line where there is one) while the other workspaces —
// and "new", added in the same change — keep syncing and nothing is pruned.
type hostileCase struct {
	name   string
	change func(t *testing.T, f *fixture, ws string) // ws is the folder workspaces/
	want   string
	check  func(t *testing.T, f *fixture, res *ksync.Result)
}

var hostileCases = []hostileCase{
	{
		name: "YAML bomb (billion laughs)",
		change: func(t *testing.T, f *fixture, ws string) {
			laughs := "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
			for c := 'b'; c <= 'j'; c++ {
				laughs += fmt.Sprintf("%c: &%c [%s]\n", c, c, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*%c,", c-1), 10), ","))
			}
			write(t, ws, "victim.yaml", f.workspace("victim")+"status:\n  "+strings.ReplaceAll(strings.TrimSpace(laughs), "\n", "\n  ")+"\n")
		},
		want: "workspaces/victim.yaml:15:18: ", // where the alias budget ran out
	},
	{
		name: "100 MB file",
		change: func(t *testing.T, f *fixture, ws string) {
			big, err := os.Create(filepath.Join(ws, "victim.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			defer big.Close()
			if err := big.Truncate(100 << 20); err != nil { // sparse: no disk, no memory
				t.Fatal(err)
			}
		},
		want: "workspaces/victim.yaml: file is 104857600 bytes, larger than the limit of 1048576 bytes",
	},
	{
		name: "deep nesting",
		change: func(t *testing.T, f *fixture, ws string) {
			write(t, ws, "victim.yaml", f.workspace("victim")+"status: "+strings.Repeat("[", 100)+strings.Repeat("]", 100)+"\n")
		},
		want: "workspaces/victim.yaml:14:73: ",
	},
	{
		name: "symlink out of the repository",
		change: func(t *testing.T, f *fixture, ws string) {
			is.New(t).NoErr(os.Remove(filepath.Join(ws, "victim.yaml")))
			is.New(t).NoErr(os.Symlink("../../outside/secret.yaml", filepath.Join(ws, "victim.yaml")))
		},
		want: `workspaces/victim.yaml: symbolic link to "../../outside/secret.yaml": not followed`,
	},
	{
		name: "non-Workspace kind",
		change: func(t *testing.T, f *fixture, ws string) {
			write(t, ws, "admin.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: "+f.ns+"-admin\n"+
				"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"+
				"subjects: [{kind: ServiceAccount, name: default, namespace: "+f.ns+"}]\n")
		},
		want: "workspaces/admin.yaml:1:1: ClusterRoleBinding/",
		check: func(t *testing.T, f *fixture, _ *ksync.Result) {
			_, err := env.Client.RbacV1().ClusterRoleBindings().Get(context.Background(), f.ns+"-admin", metav1.GetOptions{})
			is.New(t).True(apierrors.IsNotFound(err)) // never applied
		},
	},
	{
		name: "names escaping the status tree or colliding once sanitised",
		change: func(t *testing.T, f *fixture, ws string) {
			hostile := strings.NewReplacer("name: victim\n", "name: ../../../etc/passwd\n", "namespace: "+f.ns, "namespace: ../..").Replace(f.workspace("victim"))
			write(t, ws, "escape.yaml", hostile)
			for i, name := range []string{"a_b", "a b", "a/b", "A_B"} { // one sanitised text, four workspaces
				write(t, ws, fmt.Sprintf("collide-%d.yaml", i), strings.Replace(f.workspace("victim"), "name: victim\n", fmt.Sprintf("name: %q\n", name), 1))
			}
		},
		want: "workspaces/collide-0.yaml:4:",
		check: func(t *testing.T, f *fixture, res *ksync.Result) {
			is := is.New(t)
			files, err := branch.Render(status.Compute(status.Input{Result: res}), branch.RelativeLink(branch.DefaultBranch))
			is.NoErr(err)
			var statusFiles []string
			for name := range files {
				is.Equal(path.Clean(name), name)
				is.True(!strings.HasPrefix(name, "..") && !strings.HasPrefix(name, "/")) // inside the branch
				if strings.HasPrefix(name, branch.WorkspacesDir+"/") {
					statusFiles = append(statusFiles, name)
				}
			}
			t.Logf("status files: %v", statusFiles)
			is.Equal(len(statusFiles), 3+1+4+1) // good-1, good-2, victim, new; each hostile name its own file
		},
	},
	{
		name: "a huge number of files",
		change: func(t *testing.T, f *fixture, ws string) {
			filler := filepath.Join(ws, "zz-filler")
			is.New(t).NoErr(os.MkdirAll(filler, 0o755))
			for i := range 10_000 {
				write(t, filler, fmt.Sprintf("f%05d.yaml", i), "# nothing\n")
			}
			// The victim leaves Git at the same time: with the folder unread, that is not believed.
			is.New(t).NoErr(os.Remove(filepath.Join(ws, "victim.yaml")))
		},
		want: "workspaces: more than 10000 YAML files",
	},
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Hostile input, through both sources — a local folder and the Git repository (the same tree,
// pushed with the git binary, links and all) — is refused with a message naming the file while
// the other workspaces keep syncing and nothing is pruned.
func TestHostileInputIsRefused(t *testing.T) {
	for _, src := range []string{"local folder", "git"} {
		t.Run(src, func(t *testing.T) {
			for _, tc := range hostileCases {
				t.Run(tc.name, func(t *testing.T) { hostile(t, src == "git", tc) })
			}
		})
	}
}

func hostile(t *testing.T, viaGit bool, tc hostileCase) {
	is := is.New(t)
	base := t.TempDir()
	repo, ws := filepath.Join(base, "repo"), filepath.Join(base, "repo", "workspaces")
	for _, d := range []string{ws, filepath.Join(base, "outside")} {
		is.NoErr(os.MkdirAll(d, 0o755))
	}
	write(t, filepath.Join(base, "outside"), "secret.yaml", "token: never-read\n")
	o := options{local: repo}
	if viaGit {
		o = options{}
	}
	f := newFixture(t, o)
	publish := func(msg string) {
		if viaGit {
			_, err := f.git.PushDir("fleet", "main", repo, msg)
			is.NoErr(err)
		}
	}
	for _, name := range []string{"good-1", "good-2", "victim"} {
		write(t, ws, name+".yaml", f.workspace(name))
	}
	publish("three workspaces")
	f.syncOK()
	before := f.objects()

	tc.change(t, f, ws)
	write(t, ws, "new.yaml", f.workspace("new"))
	t0 := time.Now()
	publish(tc.name)
	res, err := f.sync()
	is.NoErr(err)
	t.Logf("pushed and synced in %v", time.Since(t0).Round(time.Millisecond))
	found := false
	for _, p := range res.Set.Problems {
		found = found || strings.HasPrefix(p.String(), tc.want)
	}
	if !found {
		t.Fatalf("no problem starts with %q", tc.want)
	}
	is.Equal(res.Changes.Count(apply.Deleted), 0) // nothing pruned
	f.sameObjects(before, "after the hostile change")
	_, ok := f.objects()["StatefulSet/new"]
	is.True(ok) // the rest keeps syncing
	if tc.check != nil {
		tc.check(t, f, res)
	}
}
