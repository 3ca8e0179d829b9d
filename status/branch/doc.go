// Package branch publishes workspace statuses on a Git branch that people read on any Git host:
// one YAML file per workspace, status.json with all of them, and README.md, a dashboard like
// `kubectl get workspace` with a picture (status.svg) that shows the state at a glance. Folder
// writes the same files to a local folder instead.
//
// The branch is written with go-git in memory. A write commits only when a file changed, names
// the source commits it reflects in Source-Commit trailers, and survives others pushing to the
// branch meanwhile: it fetches their work, rebuilds its files on top and pushes again. It never
// pushes any other branch.
package branch
