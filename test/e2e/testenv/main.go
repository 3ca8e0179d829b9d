package testenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// KeepEnv names the environment variable that, when set, makes Main keep the run folder.
const KeepEnv = "KAITO_SYNC_TESTENV_KEEP"

// Main starts one control plane for a test package, runs its tests, stops the control plane and
// returns the exit code for os.Exit:
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }
//
// Without the binaries (see hack/testbin.sh) it prints why and skips the package (exit 0), but
// fails when CI=true. With -short it skips the package. When tests fail it prints the end of every
// component's log. With KAITO_SYNC_TESTENV_KEEP set, the run folder (logs, kubeconfig) is kept. SIGINT/SIGTERM stop the control plane before exiting; if the test binary dies
// any other way (panic, test timeout), the kernel kills the components (Pdeathsig, Linux).
func Main(m *testing.M, env **Env) int {
	flag.Parse()
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "testenv: -short: skipping this package (it needs a control plane)")
		return 0
	}
	dir := BinDir()
	if missing := MissingBinaries(dir); len(missing) > 0 {
		msg := fmt.Sprintf("testenv: control-plane binaries missing in %s: %s.\n"+
			"Build them with `hack/testbin.sh build` (cold ~8 min, then cached) or run `hack/test.sh`; "+
			"or set %s to a folder that has them.", dir, strings.Join(missing, ", "), BinDirEnv)
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "FAIL: "+msg+"\n(CI=true: missing binaries are an error.)")
			return 1
		}
		fmt.Fprintln(os.Stderr, "SKIP: "+msg+"\nSkipping every test in this package.")
		return 0
	}

	defer removeBinary()
	var (
		mu      sync.Mutex
		started *Env
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		select {
		case s := <-sig:
			fmt.Fprintf(os.Stderr, "testenv: %v: stopping the control plane\n", s)
			cancel()
			mu.Lock()
			if started != nil {
				_ = started.Stop()
			}
			mu.Unlock()
			os.Exit(1)
		case <-ctx.Done():
		}
	}()

	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	keep := os.Getenv(KeepEnv) != ""
	e, err := Start(ctx, Options{BinDir: dir, Logf: logf, KeepDir: keep})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: testenv: starting the control plane: %v\n", err)
		if errors.Is(err, ErrBinariesMissing) {
			fmt.Fprintln(os.Stderr, "Build them with `hack/testbin.sh build`.")
		}
		return 1
	}
	mu.Lock()
	started = e
	mu.Unlock()
	*env = e

	code := m.Run()
	if err := e.Check(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: a component died during the tests: %v\n", err)
		code = 1
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "testenv: tests failed; end of the component logs:")
		e.DumpLogs(os.Stderr, 30)
	}
	mu.Lock()
	defer mu.Unlock()
	t0 := time.Now()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stop: %v\n", err)
	}
	logf("testenv: control plane stopped in %v", time.Since(t0).Round(time.Millisecond))
	if keep {
		logf("testenv: %s set: kept %s", KeepEnv, e.Dir)
	}
	return code
}
