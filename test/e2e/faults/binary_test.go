package faults

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

// output collects a process's stdout and stderr, safe to read while it runs.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// kaitoSync is one run of the real binary.
type kaitoSync struct {
	cmd  *exec.Cmd
	out  *output
	done chan error
}

// startKaitoSync runs `kaito-sync args...` with extra environment variables; the test ends it
// if it is still running.
func startKaitoSync(t *testing.T, extraEnv []string, args ...string) *kaitoSync {
	t.Helper()
	bin, err := testenv.KaitoSyncBinary()
	if err != nil {
		t.Fatal(err)
	}
	k := &kaitoSync{cmd: exec.Command(bin, args...), out: &output{}, done: make(chan error, 1)}
	k.cmd.Stdout, k.cmd.Stderr = k.out, k.out
	k.cmd.Env = append(os.Environ(), extraEnv...)
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { k.done <- k.cmd.Wait() }()
	t.Cleanup(func() {
		if k.cmd.ProcessState == nil {
			_ = k.cmd.Process.Kill()
			<-k.done
		}
	})
	return k
}

// wait waits for the process to exit and returns its error (nil for exit 0).
func (k *kaitoSync) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-k.done:
		return err
	case <-time.After(timeout):
		t.Fatalf("kaito-sync still running after %v; output:\n%s", timeout, k.out)
		return nil
	}
}

// waitOutput waits until the output satisfies ok.
func (k *kaitoSync) waitOutput(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		return ok(k.out.String()), nil
	})
	if err != nil {
		t.Fatalf("never: %s; output:\n%s", what, k.out)
	}
}

// writeFile writes a file in a temporary folder and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// slowProxy forwards TCP connections to target and holds each chunk the client sends for delay,
// returning its address. Through it kaito-sync's requests reach the API server slowly, so a kill
// lands in the middle of its apply however fast the apply has become (32 objects at a time, one
// HTTP/2 connection: 120 objects take milliseconds).
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go func() { _, _ = io.Copy(c, s); c.Close() }()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						time.Sleep(delay)
						if _, err := s.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// kubeconfigVia writes a copy of the environment's kubeconfig whose server is addr (same
// certificate: the proxy is on 127.0.0.1 too).
func kubeconfigVia(t *testing.T, addr string) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		c.Server = "https://" + addr
	}
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, file); err != nil {
		t.Fatal(err)
	}
	return file
}

// kaito-sync killed with SIGKILL while it applies 40 workspaces, then started again: the new
// process finishes the job — every workspace once, what the first one created untouched, nothing
// deleted — and exits 0.
func TestKaitoSyncKilledMidSync(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, options{})
	const n = 40
	f.push(f.files(seq("ws", n)...), "forty workspaces")
	args := []string{"sync", "--repo", f.git.RepoURL("fleet"), "--path", "workspaces",
		"--git-username", f.git.User, "--git-password-file", writeFile(t, "password", f.git.Password),
		"--target", "cluster"}

	apiserver, err := url.Parse(env.Config.Host)
	is.NoErr(err)
	slow := kubeconfigVia(t, slowProxy(t, apiserver.Host, 10*time.Millisecond))
	first := startKaitoSync(t, nil, append(args, "--kubeconfig", slow, "--interval", "1h")...)
	// Kill it as soon as its first object exists (Services are applied first).
	err = wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := env.Client.CoreV1().Services(f.ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) > 0, nil
	})
	if err != nil {
		t.Fatalf("no object appeared; output:\n%s", first.out)
	}
	is.NoErr(first.cmd.Process.Kill()) // SIGKILL: no cleanup, no graceful shutdown
	is.True(first.wait(t, time.Minute) != nil)
	before := f.objects()
	t.Logf("killed with %d of %d objects applied", len(before), perWorkspace*n)
	is.True(len(before) < perWorkspace*n) // killed mid-apply

	t0 := time.Now()
	second := startKaitoSync(t, nil, append(args, "--kubeconfig", env.Kubeconfig, "--once")...)
	is.NoErr(second.wait(t, 3*time.Minute)) // exit 0: everything synced
	t.Logf("restarted run converged in %v", time.Since(t0).Round(time.Millisecond))
	out := second.out.String()
	is.True(strings.Contains(out, "40 workspaces valid, 0 invalid"))
	is.True(!strings.Contains(out, " deleted")) // nothing pruned
	after := f.objects()
	is.Equal(keys(after), objectsOf(seq("ws", n)...)) // each workspace once
	f.sameObjects(before, "after the restart")
}

// noFileWrites runs a command with RLIMIT_FSIZE 0: the kernel kills it (SIGXFSZ) at its first
// write of a byte to any regular file — what a read-only root filesystem refuses — while pipes and
// sockets work. Root is not exempt, unlike from file permissions.
func noFileWrites(name string, args ...string) []string {
	return append([]string{"sh", "-c", `ulimit -f 0 && exec "$0" "$@"`, name}, args...)
}

// kaito-sync needs no writable filesystem (the container runs with readOnlyRootFilesystem): a
// whole sync — clone, render, server-side apply, the status branch pushed — writes no file, creates
// none in its working folder, and needs neither $HOME nor $TMPDIR.
func TestRunsWithoutWritingFiles(t *testing.T) {
	is := is.New(t)
	bin, err := testenv.KaitoSyncBinary()
	is.NoErr(err)
	f := newFixture(t, options{})
	f.push(f.files("ws-a", "ws-b"), "two workspaces")
	cwd := t.TempDir()
	run := func(argv []string) (string, error) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), "HOME=/nonexistent/home", "TMPDIR=/nonexistent/tmp", "XDG_CACHE_HOME=/nonexistent/cache")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	_, err = run(noFileWrites("sh", "-c", "echo data > written"))
	is.True(err != nil) // the control: a write is fatal under the limit

	out, err := run(noFileWrites(bin, "sync", "--repo", f.git.RepoURL("fleet"), "--path", "workspaces",
		"--git-username", f.git.User, "--git-password-file", writeFile(t, "password", f.git.Password),
		"--kubeconfig", env.Kubeconfig, "--target", "cluster", "--once"))
	if err != nil {
		t.Fatalf("kaito-sync under RLIMIT_FSIZE=0: %v\n%s", err, out)
	}
	is.Equal(names(f.objects()), []string{"ws-a", "ws-b"})
	files, _, err := f.git.ReadBranch("fleet", "kaito-status")
	is.NoErr(err)
	is.True(files["README.md"] != "") // the status branch was published
	entries, err := os.ReadDir(cwd)
	is.NoErr(err)
	for _, e := range entries {
		if e.Name() != "written" { // the control's empty file
			t.Errorf("kaito-sync created %s in its working folder", e.Name())
		}
	}
}
