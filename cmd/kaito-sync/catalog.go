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
		Use:   "presets",
		Short: "List the Kaito model presets kaito-sync knows, with what they need",
		Long: `List the Kaito model presets kaito-sync knows.

GPUS and GPU MEMORY are the fixed needs of older presets; "by weights" presets are sized from
WEIGHTS when a workspace is planned, so the node count depends on the SKU and max-model-len.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			models := presets.Default().Models()
			return writeCatalog(cmd.OutOrStdout(), output, models, presetsTable)
		},
	}
	addCatalogOutputFlag(cmd, &output)
	return cmd
}

func newSKUsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "skus",
		Short: "List the Azure GPU VM sizes kaito-sync knows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			skus := presets.Default().SKUs()
			return writeCatalog(cmd.OutOrStdout(), output, skus, skusTable)
		},
	}
	addCatalogOutputFlag(cmd, &output)
	return cmd
}

func addCatalogOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "table", "output format: table, json or yaml")
}

// writeCatalog checks the format before writing anything, so a bad -o never leaves half a table.
func writeCatalog[T any](w io.Writer, format string, items []T, table func(io.Writer, []T) error) error {
	switch format {
	case "table":
		return table(w, items)
	case "json":
		b, err := json.MarshalIndent(items, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(items)
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
	fmt.Fprintln(tw, "PRESET\tFAMILY\tGPUS\tGPU MEMORY\tWEIGHTS\tRUNTIMES\tTUNING\tNOTES")
	for _, m := range models {
		gpus := "-"
		switch {
		case m.GPUCount > 0:
			gpus = strconv.Itoa(m.GPUCount)
		case m.WeightsGiB > 0:
			gpus = "by weights"
		}
		runtimes := make([]string, len(m.Runtimes))
		for i, r := range m.Runtimes {
			runtimes[i] = string(r)
		}
		var notes []string
		for _, n := range []struct {
			on   bool
			text string
		}{{m.Gated, "gated"}, {m.Private, "private"}, {m.Deprecated, "deprecated"}, {m.MultiNode, "multi-node"}} {
			if n.on {
				notes = append(notes, n.text)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Family, gpus, catalogGiB(m.GPUMemoryGiB),
			catalogGiB(m.WeightsGiB), strings.Join(runtimes, ","), catalogYesNo(m.Tuning), catalogDash(strings.Join(notes, ",")))
	}
	return tw.Flush()
}

func skusTable(w io.Writer, skus []presets.SKU) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SKU\tGPUS\tGPU\tGPU MEMORY\tALIASES")
	for _, s := range skus {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.Name, s.GPUCount, s.GPUModel, catalogGiB(s.GPUMemoryGiB),
			catalogDash(strings.Join(s.Aliases, ",")))
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
