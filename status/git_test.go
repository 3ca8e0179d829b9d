package status_test

import (
	"path/filepath"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

func commitMessage(t *testing.T, srv *gitserver.Server, hash string) string {
	t.Helper()
	repo, err := git.PlainOpen(filepath.Join(srv.Dir, "fleet.git"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	return c.Message
}
