// Package gitbranch writes commits on one branch of a Git repository, as kaito-sync publishes
// statuses and hydrated manifests: it clones the branch's tip into memory (or starts the branch
// with no history), applies an edit to its tree with plumbing (no worktree), commits, and pushes
// only that branch, never forced. When someone else pushed first it starts again from their tip,
// with jittered backoff, so their commit is kept. It also names repositories and commits for
// people: RedactURL and ShortCommit.
package gitbranch
