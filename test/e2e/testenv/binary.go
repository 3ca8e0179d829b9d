package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

var binary struct {
	once sync.Once
	path string
	err  error
}

// KaitoSyncBinary builds cmd/kaito-sync once per test process and returns its path. Tests that
// need a real process (leader election, SIGKILL, a ServiceAccount's kubeconfig) run this binary
// rather than the library, so they exercise flags, signals and exit codes as users meet them.
// With -race in the test, the binary is built with -race too, so its goroutines are checked as well.
func KaitoSyncBinary() (string, error) {
	binary.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
		dir, err := os.MkdirTemp("", "kaito-sync-bin-")
		if err != nil {
			binary.err = err
			return
		}
		out := filepath.Join(dir, "kaito-sync")
		args := []string{"build", "-o", out}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "-ldflags", "-X main.version=e2e", "./cmd/kaito-sync")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/kaito-sync: %v\n%s", err, strings.TrimSpace(string(b)))
			return
		}
		binary.path = out
	})
	return binary.path, binary.err
}

// removeBinary deletes the binary KaitoSyncBinary built, when the package's tests end.
func removeBinary() {
	if binary.path != "" {
		_ = os.RemoveAll(filepath.Dir(binary.path))
	}
}
