package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"

	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/test/e2e/fixtures"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// Flags that would do nothing, or something else than they say, are refused before anything runs.
func TestSyncRefusesFlagsThatDoNothing(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "workspaces"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	local := []string{"sync", "--repo", repo, "--path", "workspaces", "--metrics-addr", "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"negative interval", []string{"--interval", "-1s"}, "--interval -1s is negative"},
		{"tiny interval", []string{"--interval", "10ms"}, "--interval 10ms is below 10s"},
		{"zero interval with nothing else", []string{"--interval", "0", "--watch=false"}, "--interval 0 never polls"},
		{"out inside the source", []string{"--target", "dir", "--out", filepath.Join(repo, "workspaces", "out"), "--once"}, "is inside the folder the workspaces are read from"},
		{"out is the source", []string{"--target", "dir", "--out", filepath.Join(repo, "workspaces"), "--once"}, "is inside the folder"},
		{"dir without out", []string{"--target", "dir", "--once"}, "--target dir needs --out"},
		{"empty webhook secret", []string{"--target", "dir", "--out", t.TempDir(), "--webhook-addr", "127.0.0.1:0", "--webhook-secret-file", empty}, "is empty"},
		{"unset token variable", []string{"--repo", "https://git.example/org/repo.git", "--target", "dir", "--out", t.TempDir(), "--once",
			"--git-token-env", "KAITO_SYNC_TEST_UNSET_TOKEN"}, "--git-token-env KAITO_SYNC_TEST_UNSET_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			var out, errOut bytes.Buffer
			code := run(append(append([]string{}, local...), tc.args...), &out, &errOut)
			is.Equal(code, exitUsage)
			is.True(strings.Contains(errOut.String(), tc.want))
		})
	}
}

// An --out beside the workspaces (the README's quickstart) is fine: only a folder inside the one
// read from would be read back.
func TestSyncOutBesideTheSourceIsAllowed(t *testing.T) {
	is := is.New(t)
	repo := t.TempDir()
	is.NoErr(os.MkdirAll(filepath.Join(repo, "workspaces"), 0o755))
	var out, errOut bytes.Buffer
	code := run([]string{"sync", "--repo", repo, "--path", "workspaces", "--target", "dir", "--out", filepath.Join(repo, "out"), "--once"}, &out, &errOut)
	is.Equal(code, exitOK)
	is.True(strings.Contains(out.String(), "0 workspaces valid, 0 invalid"))
}

// One sync's summary speaks English, and problems and failures go to stderr, the summary to stdout.
func TestPrintResult(t *testing.T) {
	is := is.New(t)
	set, err := workspaces.Load(fstest.MapFS{
		"a.yaml":      {Data: []byte(strings.ReplaceAll(fixtures.Phi3Mini, "NAMESPACE", "team-a"))},
		"broken.yaml": {Data: []byte("apiVersion: kaito.sh/v1beta1\nkind: Workspace\nmetadata: {name: x\n")},
	}, ".", workspaces.Options{})
	is.NoErr(err)
	var out, errOut bytes.Buffer
	printResult(&out, &errOut, &ksync.Result{Commit: "0123456789abcdef", Set: set}, nil, false, false)
	is.Equal(out.String(), "synced 0123456789ab in 0s: 1 workspace valid, 1 invalid; no changes\n")
	is.True(strings.Contains(errOut.String(), "broken.yaml:"))

	out.Reset()
	errOut.Reset()
	printResult(&out, &errOut, &ksync.Result{FetchErr: errors.New("boom")}, errors.New("fetch: boom"), false, false)
	is.Equal(out.String(), "")
	is.Equal(errOut.String(), "sync working tree failed: fetch: boom\n")
}

// --log-format json holds in --once too: every line is a JSON object on stderr, nothing on stdout.
func TestSyncOnceLogsJSON(t *testing.T) {
	is := is.New(t)
	repo := t.TempDir()
	is.NoErr(os.MkdirAll(filepath.Join(repo, "workspaces"), 0o755))
	ws := strings.ReplaceAll(fixtures.Phi3Mini, "NAMESPACE", "team-a")
	is.NoErr(os.WriteFile(filepath.Join(repo, "workspaces", "a.yaml"), []byte(ws), 0o644))
	var out, errOut bytes.Buffer
	code := run([]string{"sync", "--repo", repo, "--path", "workspaces", "--target", "dir", "--out", t.TempDir(), "--once", "--log-format", "json"}, &out, &errOut)
	is.Equal(code, exitOK)
	is.Equal(out.String(), "")
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	is.True(len(lines) > 1)
	for _, l := range lines {
		var m map[string]any
		is.NoErr(json.Unmarshal([]byte(l), &m)) // every line
	}
	is.True(strings.Contains(errOut.String(), `"msg":"synced"`))
}

// With no --target and no cluster, a local folder cannot be hydrated to a branch of itself: the
// error says what to pass instead of naming a target the user never chose.
func TestSyncLocalFolderWithoutClusterOrTarget(t *testing.T) {
	is := is.New(t)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	repo := t.TempDir()
	var out, errOut bytes.Buffer
	code := run([]string{"sync", "--repo", repo, "--once"}, &out, &errOut)
	is.Equal(code, exitUsage)
	is.True(strings.Contains(errOut.String(), "no --target given and no cluster access"))
	is.True(strings.Contains(errOut.String(), "--target dir --out DIR"))
}
