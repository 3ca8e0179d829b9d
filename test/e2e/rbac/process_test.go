package rbac

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

// podArgs returns the args of deploy/'s container as its Pod would run them: $(VAR) references
// expanded from vars (the ConfigMap and the downward API, as the kubelet does), flags named in
// set given the test's value (its files, loopback listen addresses), flags in drop removed, and
// extra appended.
func (m *manifests) podArgs(vars, set map[string]string, drop []string, extra ...string) []string {
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	var out []string
	for _, a := range m.Deployment.Spec.Template.Spec.Containers[0].Args {
		a = ref.ReplaceAllStringFunc(a, func(s string) string {
			if v, ok := vars[s[2:len(s)-1]]; ok {
				return v
			}
			return s // the kubelet leaves unknown references as they are
		})
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains(drop, name) {
			continue
		}
		if v, ok := set[name]; ok {
			a = name + "=" + v
		}
		out = append(out, a)
	}
	return append(out, extra...)
}

// proc is one kaito-sync process, its stdout and stderr collected in one buffer that tests wait on.
type proc struct {
	t   *testing.T
	cmd *exec.Cmd

	mu      sync.Mutex
	changed *sync.Cond
	out     []byte
	exited  bool
	err     error
}

// startSync runs the kaito-sync binary with a kubeconfig for id and only the environment given
// (plus PATH and a HOME of its own): nothing of the test's environment leaks into the process.
func startSync(t *testing.T, id *identity, args []string, environ ...string) *proc {
	t.Helper()
	bin, err := testenv.KaitoSyncBinary()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t}
	p.changed = sync.NewCond(&p.mu)
	p.cmd = exec.Command(bin, append(slices.Clone(args), "--kubeconfig", id.kubeconfig)...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, environ...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.exited, p.err = true, err
		p.changed.Broadcast()
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		p.kill()
		// Built with -race when the test is: a race in the binary fails the test that ran it.
		if strings.Contains(p.output(), "WARNING: DATA RACE") {
			t.Errorf("data race in kaito-sync:\n%s", p.output())
		}
	})
	return p
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = append(p.out, b...)
	p.changed.Broadcast()
	return len(b), nil
}

// output is everything the process printed, with JSON's escaped quotes unescaped so that API
// server messages read the same in slog's JSON, its text and klog's lines.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return unescape(p.out)
}

func unescape(b []byte) string { return strings.ReplaceAll(string(b), `\"`, `"`) }

// waitFor waits until ok holds for the output so far and whether the process has exited, failing
// the test when the process exits first or the timeout passes.
func (p *proc) waitFor(timeout time.Duration, what string, ok func(out string, exited bool) bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	wake := time.AfterFunc(timeout, func() { p.mu.Lock(); p.changed.Broadcast(); p.mu.Unlock() })
	defer wake.Stop()
	p.mu.Lock()
	for {
		out := unescape(p.out)
		if ok(out, p.exited) {
			p.mu.Unlock()
			return
		}
		if p.exited || !time.Now().Before(deadline) {
			state := "still running"
			if p.exited {
				state = "exited (" + errString(p.err) + ")"
			}
			p.mu.Unlock()
			p.t.Fatalf("kaito-sync %s before %s (after %v); its output:\n%s", state, what, timeout, out)
		}
		p.changed.Wait()
	}
}

func errString(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// waitOutput waits until the output contains s.
func (p *proc) waitOutput(timeout time.Duration, s string) {
	p.t.Helper()
	p.waitFor(timeout, "printing "+s, func(out string, _ bool) bool { return strings.Contains(out, s) })
}

// wait waits for the process to exit on its own and returns its exit error.
func (p *proc) wait(timeout time.Duration) error {
	p.t.Helper()
	p.waitFor(timeout, "exiting", func(_ string, exited bool) bool { return exited })
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// stop sends SIGTERM, as the kubelet does, and waits for the exit.
func (p *proc) stop(timeout time.Duration) error {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.wait(timeout)
}

// kill ends the process at once; the cases that prove a right is needed do not care how it ends.
func (p *proc) kill() {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	if exited {
		return
	}
	_ = p.cmd.Process.Kill()
	p.mu.Lock()
	for !p.exited {
		p.changed.Wait()
	}
	p.mu.Unlock()
}
