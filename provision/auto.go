package provision

import "context"

// Holder is a Provisioner that can tell, cheaply, whether it already holds nodes for a workspace.
type Holder interface {
	Holds(ctx context.Context, workspace string) (bool, error)
}

// Auto uses nodes the user already has when enough of them are Ready, and asks the cloud
// otherwise. A workspace the cloud already provisioned stays with the cloud, so its pool is
// scaled and, once Git drops the workspace, deleted rather than forgotten.
type Auto struct {
	Own   Provisioner // bring-your-own nodes: never calls a cloud
	Cloud interface {
		Provisioner
		Holder
	}
}

// Ensure implements Provisioner.
func (a *Auto) Ensure(ctx context.Context, need Need) (NodeState, error) {
	held, err := a.Cloud.Holds(ctx, need.Workspace)
	if err != nil || held {
		return a.Cloud.Ensure(ctx, need)
	}
	if st, err := a.Own.Ensure(ctx, need); err == nil && st.Ready {
		return st, nil
	}
	return a.Cloud.Ensure(ctx, need)
}

// Release implements Provisioner: only the cloud holds anything to give back.
func (a *Auto) Release(ctx context.Context, workspace string) error {
	return a.Cloud.Release(ctx, workspace)
}

// List implements Provisioner.
func (a *Auto) List(ctx context.Context) ([]string, error) { return a.Cloud.List(ctx) }
