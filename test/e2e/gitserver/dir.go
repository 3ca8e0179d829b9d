package gitserver

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// PushDir commits the folder dir exactly as it is on disk — symbolic links, sparse 100 MB files and
// ten thousand files included — as the whole content of branch, on top of its tip (or as its first
// commit), and pushes it with the git binary. It returns the commit's hash. A test builds a tree
// on disk once and feeds it to both the local-folder source and the Git source.
func (s *Server) PushDir(repo, branch, dir, message string) (string, error) {
	refs, err := s.listRefs(s.RepoURL(repo))
	if err != nil {
		return "", err
	}
	gitDir, err := os.MkdirTemp("", "kaito-sync-pushdir-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gitDir)
	u, err := url.Parse(s.RepoURL(repo))
	if err != nil {
		return "", err
	}
	u.User = url.UserPassword(s.User, s.Password)
	env := append(gitEnv(gitDir), "PATH="+os.Getenv("PATH"), "GIT_DIR="+gitDir, "GIT_WORK_TREE="+dir,
		"GIT_AUTHOR_NAME=kaito-sync test", "GIT_AUTHOR_EMAIL=test@kaito-sync.invalid",
		"GIT_COMMITTER_NAME=kaito-sync test", "GIT_COMMITTER_EMAIL=test@kaito-sync.invalid",
		// A large postBuffer keeps a push in one request: net/http/cgi does not pass chunked bodies.
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.postBuffer", "GIT_CONFIG_VALUE_0=524288000")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(s.git, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			// The URL carries the password: keep it out of test logs.
			return "", fmt.Errorf("git %s: %v: %s", args[0], err, strings.ReplaceAll(string(out), s.Password, "***"))
		}
		return strings.TrimSpace(string(out)), nil
	}
	ref := plumbing.NewBranchReferenceName(branch).String()
	steps := [][]string{{"init", "-q"}, {"symbolic-ref", "HEAD", ref}}
	if refs[plumbing.ReferenceName(ref)] != plumbing.ZeroHash {
		steps = append(steps, []string{"fetch", "-q", u.String(), ref}, []string{"update-ref", ref, "FETCH_HEAD"})
	}
	// The index starts empty, so the commit's tree is the folder, whatever the parent held.
	steps = append(steps, []string{"add", "-A", "."}, []string{"commit", "-q", "--allow-empty", "--no-verify", "-m", message})
	for _, args := range steps {
		if _, err := run(args...); err != nil {
			return "", err
		}
	}
	hash, err := run("rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if _, err := run("push", "-q", u.String(), ref+":"+ref); err != nil {
		return "", err
	}
	return hash, nil
}
