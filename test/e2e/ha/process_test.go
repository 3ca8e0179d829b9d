//go:build linux

package ha

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

// replica is one kaito-sync process, as a Deployment's Pod runs it.
type replica struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	metrics string // http://127.0.0.1:port
	hook    string
	logPath string
	exited  chan struct{}
	exitErr error
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startReplica runs the binary with args plus its own metrics and webhook ports. The kernel kills
// it if the test process dies (Pdeathsig); Cleanup kills it otherwise.
func startReplica(t *testing.T, name string, args ...string) *replica {
	t.Helper()
	bin, err := testenv.KaitoSyncBinary()
	if err != nil {
		t.Fatal(err)
	}
	mp, hp := freePort(t), freePort(t)
	r := &replica{t: t, name: name, metrics: fmt.Sprintf("http://127.0.0.1:%d", mp), hook: fmt.Sprintf("http://127.0.0.1:%d/hook", hp),
		logPath: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	args = append(args, "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", mp), "--webhook-addr", fmt.Sprintf("127.0.0.1:%d", hp))
	logf, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, args...)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.Env = append(os.Environ(), "POD_NAME=", "POD_NAMESPACE=")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.exitErr = r.cmd.Wait()
		logf.Close()
		close(r.exited)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
		if t.Failed() {
			t.Logf("---- %s log (tail) ----\n%s", name, r.tail(40))
		}
	})
	return r
}

func (r *replica) tail(n int) string {
	b, _ := os.ReadFile(r.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// scrape reads /metrics; series maps "name{labels}" (as printed) to its value.
func (r *replica) scrape() (map[string]float64, error) {
	body, err := r.scrapeText()
	if err != nil {
		return nil, err
	}
	return parseMetrics(strings.NewReader(body))
}

func (r *replica) scrapeText() (string, error) {
	resp, err := http.Get(r.metrics + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/metrics: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func parseMetrics(body io.Reader) (map[string]float64, error) {
	series := map[string]float64{}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		series[line[:i]] = v
	}
	return series, sc.Err()
}

// value is the series' value, 0 when absent (a counter never incremented is not printed).
func (r *replica) value(series string) float64 {
	m, err := r.scrape()
	if err != nil {
		return -1
	}
	return m[series]
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
	return time.Since(start)
}

// push sends an authentic GitHub push delivery for main to the replica's webhook.
func (r *replica) push(secret string) (int, error) {
	return gitserver.DeliverPush(r.hook, []byte(secret), "main")
}
