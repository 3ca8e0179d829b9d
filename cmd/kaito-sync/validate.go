package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

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
		Use:   "validate PATH... | -",
		Short: "Check workspace files as Kaito's admission webhook would",
		Long: `Validate reads Kaito Workspace files (and the ConfigMaps and PersistentVolumeClaims they reference)
from files or folders (*.yaml and *.yml, recursively), or from stdin for "-", and prints one line
per problem (stdin's are <stdin>:line:col):

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
			return runValidate(cmd.OutOrStdout(), cmd.InOrStdin(), args, f)
		},
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	completeValues(cmd, "output", "text", "json")
	cmd.Flags().BoolVar(&f.allowSecrets, "allow-secrets", false, "accept plain-text Secrets in the files")
	cmd.Flags().StringVar(&f.namespace, "default-namespace", "default", "namespace of objects that name none")
	return cmd
}

// stdinName stands for the standard input, given as "-", in problems and source paths.
const stdinName = "<stdin>"

// loadArgs reads and checks command-line paths as one set, so a name declared in two of them is caught. Paths
// are read through one filesystem rooted at "/" and shown back as the user would type them; "-" is
// stdin, shown as <stdin>.
func loadArgs(args []string, stdin io.Reader, opts workspaces.Options) (*workspaces.Set, error) {
	fsys := fs.FS(os.DirFS("/"))
	roots := make([]string, len(args))
	shown := slices.Clone(args)
	for i, a := range args {
		if a == "-" {
			if _, twice := fsys.(stdinFS); twice {
				return nil, usageErrorf("- (stdin) given twice")
			}
			data, err := readStdin(stdin, opts)
			if err != nil {
				return nil, err
			}
			fsys = stdinFS{FS: fsys, data: data}
			roots[i], shown[i] = stdinName, stdinName
			continue
		}
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
	args = shown
	// Show each path under the argument it was found through, as the user typed it — in messages
	// that name another file too (a name declared twice), so the names are given at the load.
	opts.DisplayPath = func(p string) string {
		if p == stdinName {
			return p
		}
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
	set, err := workspaces.LoadPaths(fsys, roots, opts)
	if err != nil {
		return nil, err
	}
	workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
	return set, nil
}

// readStdin reads the standard input, at most one byte more than a file may hold, so that the
// loader refuses it as it refuses a file too large.
func readStdin(stdin io.Reader, opts workspaces.Options) ([]byte, error) {
	if stdin == nil {
		stdin = os.Stdin
	}
	limit := opts.MaxFileSize
	if limit <= 0 {
		limit = workspaces.DefaultOptions().MaxFileSize
	}
	data, err := io.ReadAll(io.LimitReader(stdin, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", stdinName, err)
	}
	return data, nil
}

// stdinFS is a filesystem with the standard input, read, as one more file named <stdin>.
type stdinFS struct {
	fs.FS
	data []byte
}

func (s stdinFS) Open(name string) (fs.File, error) {
	if name == stdinName {
		return stdinFile{bytes.NewReader(s.data)}, nil
	}
	return s.FS.Open(name)
}

// stdinFile is the read standard input as an fs.File, and its own fs.FileInfo. Its size is 0, as a
// pipe's: the input may have been cut at the limit, so the size read is not the size sent.
type stdinFile struct{ *bytes.Reader }

func (f stdinFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f stdinFile) Close() error               { return nil }
func (f stdinFile) Name() string               { return stdinName }
func (f stdinFile) Size() int64                { return 0 }
func (f stdinFile) Mode() fs.FileMode          { return 0o444 }
func (f stdinFile) ModTime() time.Time         { return time.Time{} }
func (f stdinFile) IsDir() bool                { return false }
func (f stdinFile) Sys() any                   { return nil }

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

func runValidate(out io.Writer, stdin io.Reader, args []string, f validateFlags) error {
	if err := checkInputFlags("", f.namespace); err != nil {
		return err
	}
	set, err := loadArgs(args, stdin, workspaces.Options{AllowSecrets: f.allowSecrets, DefaultNamespace: f.namespace})
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
	}
	// Counted as a sync counts them: a file that does not parse is an invalid workspace too.
	report.Summary.Valid, report.Summary.Invalid = set.Counts()
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
