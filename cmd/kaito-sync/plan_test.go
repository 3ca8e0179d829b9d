package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/matryer/is"
	"github.com/spf13/cobra"
)

const planWorkspace = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: workspace-phi-3-mini
resource:
  instanceType: "Standard_NC6s_v3"
  labelSelector:
    matchLabels:
      apps: phi-3
inference:
  preset:
    name: phi-3-mini-128k-instruct
`

const planAdapter = `  adapters:
    - source:
        name: "phi-3-adapter"
        image: "myregistry.azurecr.io/adapter-phi3:0.0.1"
      strength: "1.0"
`

// planRepo makes a repository with one commit per step and returns their hashes.
func planRepo(t *testing.T) (dir string, commits []string) {
	t.Helper()
	is := is.New(t)
	dir = t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	is.NoErr(err)
	wt, err := repo.Worktree()
	is.NoErr(err)
	steps := []map[string]string{
		{"ws/phi.yaml": planWorkspace},                                                     // 0: base
		{"README.md": "docs only\n"},                                                       // 1: nothing changes
		{"ws/phi.yaml": planWorkspace + planAdapter},                                       // 2: an adapter is added
		{"ws/phi.yaml": strings.Replace(planWorkspace, "instanceType", "instancetype", 1)}, // 3: a typo
	}
	for i, files := range steps {
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			is.NoErr(os.MkdirAll(filepath.Dir(p), 0o755))
			is.NoErr(os.WriteFile(p, []byte(content), 0o644))
			_, err := wt.Add(name)
			is.NoErr(err)
		}
		h, err := wt.Commit(fmt.Sprintf("step %d", i), &git.CommitOptions{
			Author: &object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1_700_000_000, 0)},
		})
		is.NoErr(err)
		commits = append(commits, h.String())
	}
	return dir, commits
}

// runPlanCLI runs the CLI as main does. Until root.go registers plan, the command is added here and
// the same exit-code mapping as run's is applied.
func runPlanCLI(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	if c, _, err := root.Find([]string{"plan"}); err == nil && c != root {
		return run(args, stdout, stderr)
	}
	root.AddCommand(newPlanCmd())
	return execute(root, args, stdout, stderr)
}

func execute(root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != errSilent {
			fmt.Fprintln(stderr, "error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "error:", err)
	return exitUsage
}

func TestPlanExitCodes(t *testing.T) {
	dir, c := planRepo(t)
	tests := []struct {
		name    string
		args    []string
		code    int
		out     []string
		errText string
	}{
		{"no change", []string{"--base", c[0], "--head", c[1], "--path", "ws"}, 0, []string{"0 to add, 0 to change, 0 to remove, 1 unchanged"}, ""},
		{"adapter added", []string{"--base", c[0], "--head", c[2], "--path", "ws"}, 1,
			[]string{"changed default/workspace-phi-3-mini (ws/phi.yaml)", "inference.adapters", "+        - name: puller-phi-3-adapter"}, ""},
		{"branch and HEAD~", []string{"--base", "HEAD~3", "--head", "main", "--path", "ws"}, 2, []string{"ws/phi.yaml:6:3"}, ""},
		{"invalid head", []string{"--base", c[0], "--head", c[3], "--path", "ws"}, 2,
			[]string{`ws/phi.yaml:6:3: default/workspace-phi-3-mini: resource.instancetype: unknown field "instancetype"`, "1 invalid"}, ""},
		{"markdown", []string{"--base", c[0], "--head", c[2], "--path", "ws", "-o", "markdown"}, 1,
			[]string{"| Workspace | Action |", "<details><summary>changed <code>default/workspace-phi-3-mini</code>", "```diff"}, ""},
		{"file URL", []string{"--repo", "file://" + dir, "--base", c[0], "--head", c[2], "--path", "ws"}, 1, []string{"1 to change"}, ""},
		{"unknown revision", []string{"--base", "nope", "--head", c[2]}, 2, nil, `revision "nope"`},
		{"missing head", []string{"--base", c[0]}, 2, nil, "--base and --head are required"},
		{"bad output", []string{"--base", c[0], "--head", c[1], "-o", "yaml"}, 2, nil, "unknown output format"},
		{"bad path", []string{"--base", c[0], "--head", c[1], "--path", "nowhere"}, 2, nil, `path "nowhere"`},
		{"missing repo", []string{"--repo", "", "--base", c[0], "--head", c[1]}, 2, nil, "--repo is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			args := append([]string{"plan", "--repo", dir}, tt.args...)
			var out, errOut bytes.Buffer
			code := runPlanCLI(args, &out, &errOut)
			is.Equal(code, tt.code) // exit code
			for _, s := range tt.out {
				if !strings.Contains(out.String(), s) {
					t.Fatalf("output lacks %q:\n%s", s, out.String())
				}
			}
			is.True(strings.Contains(errOut.String(), tt.errText))
		})
	}
}

func TestPlanJSON(t *testing.T) {
	is := is.New(t)
	dir, c := planRepo(t)
	var out, errOut bytes.Buffer
	code := runPlanCLI([]string{"plan", "--repo", dir, "--base", c[0], "--head", c[2], "--path", "ws", "-o", "json"}, &out, &errOut)
	is.Equal(code, 1)
	var p struct {
		Head       struct{ Commit string }
		Summary    struct{ Changed int }
		Workspaces []struct {
			Workspace string
			Action    string
			Changes   []struct{ Field string }
		}
	}
	is.NoErr(json.Unmarshal(out.Bytes(), &p))
	is.Equal(p.Head.Commit, c[2])
	is.Equal(p.Summary.Changed, 1)
	is.Equal(p.Workspaces[0].Action, "changed")
	is.Equal(p.Workspaces[0].Changes[0].Field, "inference.adapters")
}
