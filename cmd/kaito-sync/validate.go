package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

type validateFlags struct {
	output       string
	allowSecrets bool
	namespace    string
}

func newValidateCmd() *cobra.Command {
	var f validateFlags
	cmd := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check workspace files as Kaito's admission webhook would",
		Long: `Validate reads Kaito Workspace files (and the ConfigMaps and PersistentVolumeClaims they reference)
from files or folders (*.yaml and *.yml, recursively) and prints one line per problem:

  path:line:col: namespace/name: field: message

Exit status: 0 when everything is valid, 1 when anything is invalid, 2 on usage errors.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("validate needs at least one file or folder")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output != "text" && f.output != "json" {
				return usageErrorf("unknown output format %q: use text or json", f.output)
			}
			return runValidate(cmd.OutOrStdout(), args, f)
		},
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&f.allowSecrets, "allow-secrets", false, "accept plain-text Secrets in the files")
	cmd.Flags().StringVar(&f.namespace, "default-namespace", "default", "namespace of objects that name none")
	return cmd
}

// loadArgs reads and checks command-line paths as one set, so a name declared in two of them is caught. Paths
// are read through one filesystem rooted at "/" and shown back as the user would type them.
func loadArgs(args []string, opts workspaces.Options) (*workspaces.Set, error) {
	roots := make([]string, len(args))
	for i, a := range args {
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, usageErrorf("%s: no such file or folder", a)
		}
		roots[i] = strings.TrimPrefix(filepath.ToSlash(abs), "/")
		if roots[i] == "" {
			roots[i] = "."
		}
	}
	// Show each path under the argument it was found through, as the user typed it — in messages
	// that name another file too (a name declared twice), so the names are given at the load.
	opts.DisplayPath = func(p string) string {
		for i, r := range roots {
			if p == r {
				return args[i]
			}
			if rest, ok := strings.CutPrefix(p, r+"/"); ok || r == "." {
				if r == "." {
					rest = p
				}
				return filepath.Join(args[i], rest)
			}
		}
		return p
	}
	set, err := workspaces.LoadPaths(os.DirFS("/"), roots, opts)
	if err != nil {
		return nil, err
	}
	workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
	return set, nil
}

type validateReport struct {
	Workspaces []workspaceVerdict  `json:"workspaces"`
	Problems   workspaces.Problems `json:"problems"`
	Summary    validateSummary     `json:"summary"`
}

type workspaceVerdict struct {
	Workspace string `json:"workspace"`
	Path      string `json:"path"`
	Line      int    `json:"line"`
	Preset    string `json:"preset,omitempty"`
	Valid     bool   `json:"valid"`
}

type validateSummary struct {
	Valid    int `json:"valid"`
	Invalid  int `json:"invalid"`
	Files    int `json:"files"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

func runValidate(out io.Writer, args []string, f validateFlags) error {
	if err := checkInputFlags("", f.namespace); err != nil {
		return err
	}
	set, err := loadArgs(args, workspaces.Options{AllowSecrets: f.allowSecrets, DefaultNamespace: f.namespace})
	if err != nil {
		return err
	}

	report := validateReport{Problems: set.Problems}
	if report.Problems == nil {
		report.Problems = workspaces.Problems{}
	}
	valid := map[*workspaces.Workspace]bool{}
	for _, ws := range set.Valid() {
		valid[ws] = true
	}
	for _, ws := range set.Workspaces {
		report.Workspaces = append(report.Workspaces, workspaceVerdict{
			Workspace: ws.Key(), Path: ws.Source.Path, Line: ws.Source.Line, Preset: ws.PresetName(), Valid: valid[ws],
		})
		if valid[ws] {
			report.Summary.Valid++
		} else {
			report.Summary.Invalid++
		}
	}
	report.Summary.Files = set.Files
	for _, p := range set.Problems {
		if p.Severity == workspaces.Error {
			report.Summary.Errors++
		} else {
			report.Summary.Warnings++
		}
	}

	if f.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		for _, p := range set.Problems {
			fmt.Fprintln(out, p.String())
		}
		fmt.Fprintln(out, summaryLine(report.Summary))
	}
	if set.Problems.HasErrors() {
		return &exitError{code: exitInvalid, err: errSilent}
	}
	return nil
}

func summaryLine(s validateSummary) string {
	line := fmt.Sprintf("%s valid, %d invalid in %s", plural(s.Valid, "workspace"), s.Invalid, plural(s.Files, "file"))
	if s.Errors > 0 || s.Warnings > 0 {
		line += fmt.Sprintf(" (%s, %s)", plural(s.Errors, "error"), plural(s.Warnings, "warning"))
	}
	return line
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
