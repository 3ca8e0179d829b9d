// Package sync is kaito-sync's loop: fetch a snapshot of Git, load and check its workspaces,
// render the valid ones, make a target (a cluster, or a branch or folder of rendered manifests)
// hold them, and prune what Git no longer declares — never on the word of a snapshot that did not
// load completely.
package sync
