package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// RepoKind is what a --repo argument names.
type RepoKind string

const (
	// RepoWorkTree is a Git working folder, or a folder inside one: sync reads its files as they
	// are (uncommitted edits included); plan and status read the repository it belongs to.
	RepoWorkTree RepoKind = "work tree"
	// RepoBare is a bare repository given by its path: read in place, from its branches.
	RepoBare RepoKind = "bare repository"
	// RepoFolder is a folder outside any Git repository: sync reads its files; it has no revisions.
	RepoFolder RepoKind = "folder"
	// RepoURL is a Git URL (https://, ssh://, git@host:path, file://): fetched into memory.
	RepoURL RepoKind = "URL"
)

// Repo is a --repo argument resolved: the one rule sync, plan and status share.
type Repo struct {
	Arg  string
	Kind RepoKind
	// Dir is the absolute path of the folder given (work tree, folder) or of the bare repository.
	Dir string
	// Sub is Dir's place in its work tree, slash-separated ("" at the top): --path is relative to
	// the folder given in every command, so plan reads Sub/--path of the repository.
	Sub string
}

// ResolveRepo says what arg names: an existing folder is a bare repository, a folder of a work
// tree or a plain folder; anything else must be a Git URL.
func ResolveRepo(arg string) (Repo, error) {
	if arg == "" {
		return Repo{}, errors.New("no repository given")
	}
	if info, err := os.Stat(arg); err == nil {
		if !info.IsDir() {
			return Repo{}, fmt.Errorf("%s is a file: give a folder, a repository or a Git URL", arg)
		}
		abs, err := filepath.Abs(arg)
		if err != nil {
			return Repo{}, err
		}
		// A bare repository is opened as itself, never searched for above.
		if r, err := git.PlainOpen(abs); err == nil {
			if _, err := r.Worktree(); errors.Is(err, git.ErrIsBareRepository) {
				return Repo{Arg: arg, Kind: RepoBare, Dir: abs}, nil
			}
		}
		r, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true})
		if err != nil {
			return Repo{Arg: arg, Kind: RepoFolder, Dir: abs}, nil
		}
		wt, err := r.Worktree()
		if err != nil {
			return Repo{}, fmt.Errorf("%s: %w", arg, err)
		}
		sub, err := within(wt.Filesystem.Root(), abs)
		if err != nil {
			return Repo{}, fmt.Errorf("%s: %w", arg, err)
		}
		return Repo{Arg: arg, Kind: RepoWorkTree, Dir: abs, Sub: sub}, nil
	}
	if IsURL(arg) {
		return Repo{Arg: arg, Kind: RepoURL}, nil
	}
	return Repo{}, fmt.Errorf("%s: no such folder, and not a Git URL (https://, ssh://, git@host:path, file://)", arg)
}

// IsURL reports whether s is written as a Git URL rather than a path.
func IsURL(s string) bool { return strings.Contains(s, "://") || strings.Contains(s, "@") }

// within is dir's slash-separated place under root ("" for root itself), links resolved.
func within(root, dir string) (string, error) {
	r, err := resolveLinks(root)
	if err != nil {
		return "", err
	}
	d, err := resolveLinks(dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r, d)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%s is not inside %s", dir, root)
	}
	if rel == "." {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}

// Inside reports whether path is dir or lies under it, links resolved, for a path that may not
// exist yet (an output folder).
func Inside(path, dir string) (bool, error) {
	if _, err := resolveLinks(dir); err != nil {
		return false, err
	}
	_, err := within(dir, path)
	return err == nil, nil
}

// resolveLinks is filepath.Abs with the symbolic links of the longest existing prefix followed:
// the rest may not exist yet.
func resolveLinks(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// ID names the repository in a sync root (apply.RootID): the absolute path of a local one, the
// URL without credentials.
func (r Repo) ID() string {
	if r.Kind == RepoURL {
		return RootURL(r.Arg) // an identity: as before RedactURL hid query credentials
	}
	return r.Dir
}

// Local reports whether sync reads the repository's files from disk (a work tree or a folder).
func (r Repo) Local() bool { return r.Kind == RepoWorkTree || r.Kind == RepoFolder }

// Source is what sync reads: the files of a work tree or folder (Local), the branch of a bare
// repository in place (Branch), or the branch of a URL (Git).
func (r Repo) Source(opts GitOptions) Source {
	switch r.Kind {
	case RepoWorkTree, RepoFolder:
		return Local{Dir: r.Dir, Path: opts.Path}
	case RepoBare:
		return BareBranch{Dir: r.Dir, Branch: opts.Branch, Path: opts.Path, KeyRing: opts.KeyRing}
	}
	opts.URL = r.Arg
	return NewGit(opts)
}

// Path is where --path lies in the repository plan and status read: under Sub for a folder
// inside a work tree.
func (r Repo) Path(p string) string {
	return strings.Trim(path.Join(r.Sub, path.Clean("/"+filepath.ToSlash(p))), "/")
}

// Open opens the repository with every revision: a work tree's or a bare repository in place, a
// URL cloned into memory with all its branches and tags. A plain folder has no revisions.
func (r Repo) Open(ctx context.Context, auth transport.AuthMethod) (*git.Repository, error) {
	switch r.Kind {
	case RepoWorkTree:
		repo, err := git.PlainOpenWithOptions(r.Dir, &git.PlainOpenOptions{DetectDotGit: true})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Arg, err)
		}
		return repo, nil
	case RepoBare:
		repo, err := git.PlainOpen(r.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Arg, err)
		}
		return repo, nil
	case RepoFolder:
		return nil, fmt.Errorf("%s is a folder outside any Git repository: it has no revisions", r.Arg)
	}
	return cloneAll(ctx, r.Arg, auth)
}

// cloneAll fetches every branch (as origin/<branch>) and tag of url into memory. Unlike a clone it
// never needs the remote's HEAD, which may name a branch that does not exist; HEAD is set to the
// remote's when that resolves.
func cloneAll(ctx context.Context, url string, auth transport.AuthMethod) (*git.Repository, error) {
	fail := func(err error) (*git.Repository, error) {
		// Git errors may quote the URL, credentials and all.
		return nil, gitbranch.RedactError(fmt.Errorf("git %s: %w", gitbranch.RedactURL(url), err), url)
	}
	repo, err := git.Init(newStorage(), nil)
	if err != nil {
		return fail(err)
	}
	rem, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}})
	if err != nil {
		return fail(err)
	}
	err = rem.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"},
		Auth:     auth,
		Tags:     git.NoTags,
	})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fail(errors.New("the repository has no commits"))
	}
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fail(err)
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return fail(err)
	}
	for _, ref := range refs {
		if ref.Name() != plumbing.HEAD {
			continue
		}
		h := ref.Hash()
		if ref.Type() == plumbing.SymbolicReference {
			if r, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", ref.Target().Short()), true); err == nil {
				h = r.Hash()
			}
		}
		if _, err := repo.CommitObject(h); err == nil {
			if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.HEAD, h)); err != nil {
				return fail(err)
			}
		}
	}
	return repo, nil
}

// Branches lists the repository's branches, its own and origin's, by short name.
func Branches(repo *git.Repository) []string {
	seen := map[string]bool{}
	refs, err := repo.References()
	if err != nil {
		return nil
	}
	_ = refs.ForEach(func(r *plumbing.Reference) error {
		switch n := r.Name(); {
		case n.IsBranch():
			seen[n.Short()] = true
		case n.IsRemote() && strings.HasPrefix(n.String(), "refs/remotes/origin/") && n.String() != "refs/remotes/origin/HEAD":
			seen[strings.TrimPrefix(n.String(), "refs/remotes/origin/")] = true
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for b := range seen {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}

// branchList is "its branches: a, b" or "it has no branches".
func branchList(repo *git.Repository) string {
	b := Branches(repo)
	if len(b) == 0 {
		return "it has no branches"
	}
	return "its branches: " + strings.Join(b, ", ")
}

// BranchCommit is the tip of branch name: the repository's own, else origin's.
func BranchCommit(repo *git.Repository, name string) (*object.Commit, error) {
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(name), true)
	if err != nil {
		ref, err = repo.Reference(plumbing.NewRemoteReferenceName("origin", name), true)
	}
	if err != nil {
		return nil, fmt.Errorf("no branch %s; %s", name, branchList(repo))
	}
	return repo.CommitObject(ref.Hash())
}

// BareBranch reads a branch of a bare repository in place, at every fetch: no copy, no Git
// binary. kaito-sync sync --repo /srv/git/fleet.git reads it.
type BareBranch struct {
	Dir, Branch, Path string
	// KeyRing: as GitOptions.KeyRing.
	KeyRing string
}

func (b BareBranch) Fetch(context.Context) (Snapshot, error) {
	branch := b.Branch
	if branch == "" {
		branch = "main"
	}
	repo, err := git.PlainOpen(b.Dir)
	if err != nil {
		return Snapshot{}, fmt.Errorf("bare repository %s: %w", b.Dir, err)
	}
	commit, err := BranchCommit(repo, branch)
	if err != nil {
		return Snapshot{}, fmt.Errorf("bare repository %s: %w", b.Dir, err)
	}
	snap, err := snapshotOf(commit, b.Path, b.KeyRing)
	if err != nil {
		return Snapshot{}, fmt.Errorf("bare repository %s (branch %s): %w", b.Dir, branch, err)
	}
	snap.Branch = branch
	return snap, nil
}

// snapshotOf is commit's tree under dir, its signature verified against keyRing when one is set.
func snapshotOf(commit *object.Commit, dir, keyRing string) (Snapshot, error) {
	if keyRing != "" {
		if err := verifyCommit(commit, keyRing); err != nil {
			return Snapshot{}, err
		}
	}
	tree, err := commit.Tree()
	if err != nil {
		return Snapshot{}, err
	}
	p := strings.Trim(path.Clean("/"+dir), "/")
	var fsys fs.FS = NewTreeFS(tree, commit.Committer.When)
	if p != "" {
		if fsys, err = fs.Sub(fsys, p); err != nil {
			return Snapshot{}, fmt.Errorf("path %q: not a folder at commit %s", dir, gitbranch.ShortCommit(commit.Hash.String()))
		}
		// fs.Sub does not fail on a missing folder: the first read would.
		if info, err := fs.Stat(fsys, "."); err != nil || !info.IsDir() {
			return Snapshot{}, fmt.Errorf("path %q: not a folder at commit %s", dir, gitbranch.ShortCommit(commit.Hash.String()))
		}
	}
	return Snapshot{
		Commit:  commit.Hash.String(),
		Time:    commit.Committer.When,
		Message: strings.TrimSpace(commit.Message),
		Tree:    fsys,
		Path:    p,
	}, nil
}
