package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

type renderFlags struct {
	output       string
	out          string
	commit       string
	allowSecrets bool
	namespace    string
}

func newRenderCmd() *cobra.Command {
	var f renderFlags
	cmd := &cobra.Command{
		Use:   "render PATH... | -",
		Short: "Print the Kubernetes objects kaito-sync applies for workspace files, or write their Kustomize overlays",
		Long: `Render reads Kaito Workspace files (and the ConfigMaps, PersistentVolumeClaims and Secrets they
reference) from files or folders, or from stdin for "-", validates them, and prints the objects kaito-sync would apply for
them, the workloads Kaito would create, as multi-document YAML (-o yaml) or a JSON List (-o json).

With --out DIR it writes the Kustomize overlays instead: DIR/<namespace>/<name>/ per workspace and the
shared bases under DIR/bases/. ` + "`kustomize build DIR/<namespace>/<name>`" + ` gives exactly the objects
kaito-sync applies.

Problems are printed to stderr; if any is an error, nothing is rendered.
Exit status: 0 when everything rendered, 1 when the files are invalid, 2 on usage errors.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("render needs at least one file or folder")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output != "yaml" && f.output != "json" {
				return usageErrorf("unknown output format %q: use yaml or json", f.output)
			}
			if f.out != "" && cmd.Flags().Changed("output") {
				return usageErrorf("--out writes Kustomize files: it does not take -o")
			}
			return runRender(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "yaml", "output format: yaml or json")
	completeValues(cmd, "output", "yaml", "json")
	cmd.Flags().StringVar(&f.out, "out", "", "write the Kustomize overlays to this folder instead of printing objects")
	cmd.Flags().StringVar(&f.commit, "commit", "", "Git commit to record in the kaito-sync/source-commit annotation")
	cmd.Flags().BoolVar(&f.allowSecrets, "allow-secrets", false, "accept plain-text Secrets in the files")
	cmd.Flags().StringVar(&f.namespace, "default-namespace", "default", "namespace of objects that name none")
	return cmd
}

func runRender(stdin io.Reader, stdout, stderr io.Writer, args []string, f renderFlags) error {
	if err := checkInputFlags("", f.namespace); err != nil {
		return err
	}
	set, err := loadArgs(args, stdin, workspaces.Options{AllowSecrets: f.allowSecrets, DefaultNamespace: f.namespace})
	if err != nil {
		return err
	}
	for _, p := range set.Problems {
		fmt.Fprintln(stderr, p.String())
	}
	if set.Problems.HasErrors() {
		fmt.Fprintln(stderr, "nothing rendered: fix the errors above (kaito-sync validate shows them too)")
		return &exitError{code: exitInvalid, err: errSilent}
	}

	valid := set.Valid()
	slices.SortFunc(valid, func(a, b *workspaces.Workspace) int { return strings.Compare(a.Key(), b.Key()) })
	if len(valid) == 0 {
		fmt.Fprintln(stderr, "no workspace to render")
	}
	r := render.New(presets.Default())
	var results []*render.Result
	for _, ws := range valid {
		refs := workspaces.References(ws)
		var comps []*workspaces.Companion
		for _, c := range set.Companions {
			if slices.Contains(refs, c.Key()) {
				comps = append(comps, c)
			}
		}
		res, err := r.Render(ws, comps, render.Source{Path: ws.Source.Path, Commit: f.commit})
		if err != nil {
			return &exitError{code: exitInvalid, err: err}
		}
		results = append(results, res)
	}

	if f.out != "" {
		return writeOverlays(stdout, f.out, results)
	}
	var objs []*unstructured.Unstructured
	for _, res := range results {
		objs = append(objs, res.Objects...)
	}
	if f.output == "json" {
		items := make([]any, len(objs))
		for i, o := range objs {
			items[i] = o.Object
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	}
	out, err := render.MarshalObjects(objs)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// writeOverlays writes every workspace's overlay and the bases they use under dir. Files already
// there are replaced; others are left alone.
func writeOverlays(stdout io.Writer, dir string, results []*render.Result) error {
	files := map[string][]byte{}
	for _, res := range results {
		for p, b := range res.Overlay {
			if prev, ok := files[p]; ok && !bytes.Equal(prev, b) {
				// Bases are shared and must be identical; an overlay belongs to one workspace.
				return fmt.Errorf("two workspaces render %s differently", p)
			}
			files[p] = b
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
	}
	for _, res := range results {
		fmt.Fprintf(stdout, "%s: kustomize build %s\n", res.Key, filepath.Join(dir, filepath.FromSlash(res.OverlayDir())))
	}
	return nil
}
