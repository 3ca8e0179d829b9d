package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/presets"
)

func newPresetsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "presets [NAME]",
		Short: "List the models of Kaito's catalog kaito-sync knows, with what they need",
		Long: `List the models of Kaito's catalog (Kaito ` + presets.KaitoVersion + `).

A workspace names a model by its Hugging Face id (in any case) or by its legacy name. Any other
Hugging Face id works too: Kaito then sizes it from huggingface.co, which kaito-sync cannot check.
Kaito estimates the node count from WEIGHTS, the SKU and max-model-len; DISK is the weights volume.
RUNTIMES: vllm, and transformers where Kaito has parameters for it. NOTES: gated (needs
presetOptions.modelAccessSecret), the quantization, cuda-toolkit (an init container installs it).

With NAME (a Hugging Face id, a served name or a legacy name, in any case), every field of that
one model, including the engine arguments Kaito gives it.`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, m := range presets.Default().Models() {
				names = append(names, m.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cat := presets.Default()
			if len(args) == 0 {
				return writeCatalog(cmd.OutOrStdout(), output, cat.Models(), presetsTable)
			}
			m, err := findPreset(cat, args[0])
			if err != nil {
				return err
			}
			return writeCatalogOne(cmd.OutOrStdout(), output, m, func(w io.Writer, m presets.Model) error {
				var runtimes []string
				for _, r := range m.Runtimes() {
					runtimes = append(runtimes, string(r))
				}
				return describe(w, m, [2]string{"Runtimes", strings.Join(runtimes, ", ")})
			})
		},
	}
	addCatalogOutputFlag(cmd, &output)
	return cmd
}

func newSKUsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "skus [NAME]",
		Short: "List the Azure GPU VM sizes kaito-sync knows",
		Long: `List the Azure GPU VM sizes kaito-sync knows: Kaito ` + presets.KaitoVersion + `'s table, and the legacy
sizes it no longer takes (CUDA compute capability CC below 8.0), which kaito-sync serves on the
transformers runtime in float16. GPU MEMORY is the total of the VM; NVME: Kaito puts the weights on
its local NVMe disks.

With NAME (a VM size or an alias, in any case), every field of that one size.`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, s := range presets.Default().SKUs() {
				names = append(names, s.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cat := presets.Default()
			if len(args) == 0 {
				return writeCatalog(cmd.OutOrStdout(), output, cat.SKUs(), skusTable)
			}
			s, err := findSKU(cat, args[0])
			if err != nil {
				return err
			}
			return writeCatalogOne(cmd.OutOrStdout(), output, s, func(w io.Writer, s presets.SKU) error { return describe(w, s) })
		},
	}
	addCatalogOutputFlag(cmd, &output)
	return cmd
}

func addCatalogOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "table", "output format: table, json or yaml")
	completeValues(cmd, "output", "table", "json", "yaml")
}

// writeCatalogOne writes one catalog entry: described field by field (table), or as one JSON or
// YAML object, as kubectl get does for a name.
func writeCatalogOne[T any](w io.Writer, format string, item T, describe func(io.Writer, T) error) error {
	if format == "table" {
		return describe(w, item)
	}
	return writeCatalog(w, format, []T{item}, nil, true)
}

// writeCatalog checks the format before writing anything, so a bad -o never leaves half a table.
// single writes items[0] alone, not a list.
func writeCatalog[T any](w io.Writer, format string, items []T, table func(io.Writer, []T) error, single ...bool) error {
	var v any = items
	if len(single) > 0 && single[0] {
		v = items[0]
	}
	switch format {
	case "table":
		return table(w, items)
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	default:
		return usageErrorf("unknown output format %q: use table, json or yaml", format)
	}
}

func presetsTable(w io.Writer, models []presets.Model) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HUGGING FACE ID\tLEGACY NAME\tWEIGHTS\tDISK\tRUNTIMES\tTUNING\tNOTES")
	for _, m := range models {
		runtimes := make([]string, 0, 2)
		for _, r := range m.Runtimes() {
			runtimes = append(runtimes, string(r))
		}
		var notes []string
		for _, n := range []struct {
			on   bool
			text string
		}{{m.Gated, "gated"}, {m.QuantMethod != "", m.QuantMethod}, {m.RequiresCUDAToolkit, "cuda-toolkit"}} {
			if n.on {
				notes = append(notes, n.text)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, catalogDash(strings.Join(m.Aliases, ",")),
			catalogGiB(m.WeightsGiB), catalogGiB(float64(m.DiskGiB)), strings.Join(runtimes, ","),
			catalogYesNo(m.Tuning != nil), catalogDash(strings.Join(notes, ",")))
	}
	return tw.Flush()
}

func skusTable(w io.Writer, skus []presets.SKU) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SKU\tGPUS\tGPU\tGPU MEMORY\tCC\tNVME\tNOTES\tALIASES")
	for _, s := range skus {
		cc := "-"
		if s.ComputeCapability > 0 {
			cc = strconv.FormatFloat(s.ComputeCapability, 'f', 1, 64)
		}
		notes := "-"
		if s.Legacy {
			notes = "legacy"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.GPUCount, s.GPUModel, catalogGiB(s.GPUMemoryGiB),
			cc, catalogYesNo(s.NVMe), notes, catalogDash(strings.Join(s.Aliases, ",")))
	}
	return tw.Flush()
}

func catalogGiB(v float64) string {
	if v <= 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "Gi"
}

func catalogYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func catalogDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
