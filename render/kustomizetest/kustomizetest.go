// Package kustomizetest finds the kustomize CLI that tests and benchmarks compare kaito-sync's
// in-process builds with. hack/kustomize.sh builds it from the Go module proxy.
package kustomizetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Version is the kustomize release built on the sigs.k8s.io/kustomize/api in go.mod.
const Version = "v5.8.2"

// DefaultPath is where hack/kustomize.sh puts the binary.
func DefaultPath() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "kaito-sync", "tools", "kustomize-"+Version, "kustomize")
}

// Path returns the kustomize binary, from KAITO_SYNC_KUSTOMIZE or the default path, or "" when
// there is none.
func Path() string {
	p := os.Getenv("KAITO_SYNC_KUSTOMIZE")
	if p == "" {
		p = DefaultPath()
	}
	if info, err := os.Stat(p); err != nil || info.IsDir() {
		return ""
	}
	return p
}

// Binary returns the kustomize binary. Without one the test is skipped, except under CI=true,
// where a comparison that silently does not run would prove nothing: there it fails.
func Binary(tb testing.TB) string {
	tb.Helper()
	p := Path()
	if p != "" {
		return p
	}
	msg := "no kustomize CLI at $KAITO_SYNC_KUSTOMIZE or " + DefaultPath() + ": run hack/kustomize.sh to build it"
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// Build runs `kustomize build dir` and returns its output.
func Build(tb testing.TB, bin, dir string) []byte {
	tb.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, "build", dir)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("kustomize build %s: %v\n%s", dir, err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes()
}

// WriteFiles writes files (path relative to dir → bytes) under dir.
func WriteFiles(tb testing.TB, dir string, files map[string][]byte) {
	tb.Helper()
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
