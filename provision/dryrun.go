package provision

import (
	"context"
	"fmt"
)

// DryRun is a Provisioner that asks nothing of the cloud: Ensure reports what the wrapped
// provisioner would be asked for, Release gives nothing back, and List (a read) is passed
// through, so a dry run still shows which node pools a real sync would delete.
type DryRun struct{ P Provisioner }

// Ensure implements Provisioner without calling the wrapped one: even a bring-your-own check
// would be harmless, but an AKS Ensure creates or scales a pool.
func (d DryRun) Ensure(_ context.Context, need Need) (NodeState, error) {
	what := fmt.Sprintf("%d node(s)", need.Count)
	if need.InstanceType != "" {
		what = fmt.Sprintf("%d × %s", need.Count, need.InstanceType)
	}
	return NodeState{Reason: "DryRun", Message: "dry run: would ensure " + what}, nil
}

// Release implements Provisioner: it changes nothing.
func (DryRun) Release(context.Context, string) error { return nil }

// List implements Provisioner.
func (d DryRun) List(ctx context.Context) ([]string, error) { return d.P.List(ctx) }
