package faults

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/test/e2e/fixtures"
)

// runToExit runs the binary to its end and returns its output and exit code.
func runToExit(t *testing.T, extraEnv []string, args ...string) (string, int) {
	t.Helper()
	k := startKaitoSync(t, extraEnv, args...)
	err := k.wait(t, 2*time.Minute)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return k.out.String(), 0
	case errors.As(err, &exit):
		return k.out.String(), exit.ExitCode()
	}
	t.Fatalf("kaito-sync: %v\n%s", err, k.out)
	return "", -1
}

// syncArgs are `sync` with the flags that reach the fixture's repository.
func (f *fixture) syncArgs(t *testing.T) []string {
	return []string{"sync", "--repo", f.git.RepoURL("fleet"), "--path", "workspaces",
		"--git-username", f.git.User, "--git-password-file", writeFile(t, "password", f.git.Password)}
}

// hasBranch reports whether the fixture's repository has branch.
func (f *fixture) hasBranch(branch string) bool {
	_, _, err := f.git.ReadBranch("fleet", branch)
	return err == nil
}

// treeOf reads every file under dir, by path relative to it.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return files
}

// A dry run writes nothing anywhere, in every target: no object, no file, no branch, no status.
func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t, options{})
	f.push(f.files("ws-a", "ws-b"), "two workspaces")

	t.Run("cluster", func(t *testing.T) {
		is := is.New(t)
		out, code := runToExit(t, nil, append(f.syncArgs(t), "--kubeconfig", env.Kubeconfig, "--target", "cluster", "--once", "--dry-run")...)
		is.Equal(code, 0)
		is.True(strings.Contains(out, "dry run of"))
		is.Equal(len(f.objects()), 0)
		is.True(!f.hasBranch("kaito-status"))
	})
	t.Run("git", func(t *testing.T) {
		is := is.New(t)
		out, code := runToExit(t, nil, append(f.syncArgs(t), "--target", "git", "--hydrate-branch", "rendered", "--once", "--dry-run")...)
		is.Equal(code, 0)
		is.True(strings.Contains(out, "created")) // it says what it would write...
		is.True(!f.hasBranch("rendered"))         // ...and writes nothing
		is.True(!f.hasBranch("kaito-status"))
	})
	t.Run("dir", func(t *testing.T) {
		is := is.New(t)
		dir := filepath.Join(t.TempDir(), "out")
		_, code := runToExit(t, nil, append(f.syncArgs(t), "--target", "dir", "--out", dir, "--once", "--dry-run")...)
		is.Equal(code, 0)
		_, err := os.Stat(dir)
		is.True(errors.Is(err, os.ErrNotExist)) // not even the folder

		_, code = runToExit(t, nil, append(f.syncArgs(t), "--target", "dir", "--out", dir, "--once")...)
		is.Equal(code, 0)
		before := treeOf(t, dir)
		is.True(len(before) > 0)
		f.push(map[string]string{"workspaces/ws-a.yaml": strings.Replace(f.workspace("ws-a"), "phi-3-mini-4k-instruct", "phi-3-mini-128k-instruct", 1)}, "change ws-a")
		if _, err := f.git.DeleteFiles("fleet", "main", "drop ws-b", "workspaces/ws-b.yaml"); err != nil {
			t.Fatal(err)
		}
		out, code := runToExit(t, nil, append(f.syncArgs(t), "--target", "dir", "--out", dir, "--once", "--dry-run")...)
		is.Equal(code, 0)
		is.True(strings.Contains(out, "configured") && strings.Contains(out, "deleted")) // reported...
		is.Equal(treeOf(t, dir), before)                                                 // ...not done
	})
}

// An API server that does not answer fails a --once run within --api-server-timeout, naming the
// server, with exit code 3; the long-running sync says it is retrying. Before, it printed nothing
// for 12 minutes.
func TestUnreachableAPIServerFailsFast(t *testing.T) {
	f := newFixture(t, options{})
	f.push(f.files("ws-a"), "one workspace")
	// A server that accepts connections and never answers (a blackholed address would do the same
	// off loopback), and a port nothing listens on.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	for _, tc := range []struct{ name, addr, want string }{
		{"silent", silent.Addr().String(), "no answer within 2s"},
		{"closed", closedAddr, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			t0 := time.Now()
			out, code := runToExit(t, nil, append(f.syncArgs(t), "--kubeconfig", kubeconfigVia(t, tc.addr), "--once", "--api-server-timeout", "2s")...)
			t.Logf("exit %d after %v:\n%s", code, time.Since(t0).Round(time.Millisecond), out)
			is.Equal(code, 3)
			is.True(strings.Contains(out, "API server https://"+tc.addr+" unreachable"))
			is.True(strings.Contains(out, tc.want))
		})
	}
	t.Run("daemon", func(t *testing.T) {
		k := startKaitoSync(t, nil, append(f.syncArgs(t), "--kubeconfig", kubeconfigVia(t, closedAddr), "--api-server-timeout", "2s",
			"--metrics-addr", "127.0.0.1:0")...)
		k.waitOutput(t, "a retry announced", func(s string) bool {
			return strings.Contains(s, "cannot start syncing: retrying") && strings.Contains(s, "retry_in")
		})
	})
}

// A kubeconfig the user named and that cannot be loaded is an error (exit 2); before, sync chose
// the Git target instead and pushed a kaito-sync/rendered branch to the repository.
func TestBadKubeconfigIsAnError(t *testing.T) {
	f := newFixture(t, options{})
	f.push(f.files("ws-a"), "one workspace")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"flag", nil, []string{"--kubeconfig", "/nonexistent/kubeconfig"}, "--kubeconfig: stat /nonexistent/kubeconfig"},
		{"env", []string{"KUBECONFIG=/nonexistent/a:/nonexistent/b"}, nil, "$KUBECONFIG names no file that exists"},
		{"context", nil, []string{"--kubeconfig", env.Kubeconfig, "--context", "nope"}, `--context nope: context "nope" does not exist`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			out, code := runToExit(t, tc.env, append(append(f.syncArgs(t), tc.args...), "--once")...)
			is.Equal(code, 2)
			is.True(strings.Contains(out, tc.want))
			is.True(!f.hasBranch("kaito-sync/rendered"))
		})
	}
}

// The namespace rule holds in every target: a workspace in kube-system is refused with its file,
// line and field, rendered nowhere, and the sync exits 1.
func TestProtectedNamespaceRefusedInEveryTarget(t *testing.T) {
	f := newFixture(t, options{})
	system := strings.NewReplacer("name: phi-3\n", "name: intruder\n", "NAMESPACE", "kube-system").Replace(fixtures.Phi3Mini)
	files := f.files("ws-a")
	files["workspaces/intruder.yaml"] = system
	f.push(files, "a workspace in kube-system")
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		held func() string
	}{
		{"git", []string{"--target", "git", "--hydrate-branch", "rendered"}, func() string {
			files, _, err := f.git.ReadBranch("fleet", "rendered")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for n := range files {
				names = append(names, n)
			}
			return strings.Join(names, "\n")
		}},
		{"dir", []string{"--target", "dir", "--out", dir}, func() string {
			var names []string
			for n := range treeOf(t, dir) {
				names = append(names, n)
			}
			return strings.Join(names, "\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			out, code := runToExit(t, nil, append(append(f.syncArgs(t), tc.args...), "--once", "--status=false")...)
			is.Equal(code, 1)
			is.True(strings.Contains(out, "workspaces/intruder.yaml:5:"))
			is.True(strings.Contains(out, "metadata.namespace: namespace kube-system is protected"))
			held := tc.held()
			is.True(strings.Contains(held, f.ns+"/ws-a")) // the good workspace is rendered
			is.True(!strings.Contains(held, "kube-system"))
		})
	}
}

// --once exits non-zero when it did not do its job: a refused mass prune and statuses that could
// not be published exit 1, a fetch that failed exits 3 without a "synced" line.
func TestOnceExitCodes(t *testing.T) {
	f := newFixture(t, options{})
	f.push(f.files("ws-a", "ws-b", "ws-c"), "three workspaces")
	dir := t.TempDir()
	dirArgs := func(t *testing.T) []string {
		return append(f.syncArgs(t), "--target", "dir", "--out", dir, "--once", "--status=false")
	}
	is := is.New(t)
	_, code := runToExit(t, nil, dirArgs(t)...)
	is.Equal(code, 0)

	t.Run("mass prune refused", func(t *testing.T) {
		is := is.New(t)
		if _, err := f.git.DeleteFiles("fleet", "main", "drop two", "workspaces/ws-b.yaml", "workspaces/ws-c.yaml"); err != nil {
			t.Fatal(err)
		}
		out, code := runToExit(t, nil, dirArgs(t)...)
		is.Equal(code, 1)
		is.True(strings.Contains(out, "prune refused"))
		is.True(strings.Contains(out, "--allow-mass-prune"))
	})
	t.Run("status not published", func(t *testing.T) {
		is := is.New(t)
		out, code := runToExit(t, nil, append(f.syncArgs(t), "--target", "dir", "--out", t.TempDir(), "--once", "--allow-mass-prune",
			"--status-repo", f.git.RepoURL("no-such-repo"))...)
		is.Equal(code, 1)
		is.True(strings.Contains(out, "status branch"))
	})
	t.Run("fetch failed", func(t *testing.T) {
		is := is.New(t)
		out, code := runToExit(t, nil, "sync", "--repo", f.git.RepoURL("no-such-repo"), "--target", "dir", "--out", t.TempDir(), "--once",
			"--git-username", f.git.User, "--git-password-file", writeFile(t, "password", f.git.Password))
		is.Equal(code, 3)
		is.True(strings.Contains(out, "failed: fetch"))
		is.True(!strings.Contains(out, "synced"))
	})
}
