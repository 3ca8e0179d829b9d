package main

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// findPreset is the catalog model called name: its Hugging Face id, its served name or a legacy
// alias, in any case. Anything else is a usage error naming what it may have meant.
func findPreset(cat *presets.Catalog, name string) (presets.Model, error) {
	if m, ok := cat.Model(name); ok {
		return m, nil
	}
	var known []string
	for _, m := range cat.Models() {
		if strings.EqualFold(m.ServedName, strings.TrimSpace(name)) {
			return m, nil
		}
		known = append(known, m.Name, m.ServedName)
		known = append(known, m.Aliases...)
	}
	if r, ok := cat.Removed(name); ok {
		return presets.Model{}, usageErrorf("%v", &presets.RemovedError{Removed: r})
	}
	return presets.Model{}, usageErrorf("unknown preset %q%s: `kaito-sync presets` lists Kaito %s's", name, suggest(name, known), presets.KaitoVersion)
}

// findSKU is the VM size called name or one of its aliases, in any case.
func findSKU(cat *presets.Catalog, name string) (presets.SKU, error) {
	if s, ok := cat.SKU(name); ok {
		return s, nil
	}
	var known []string
	for _, s := range cat.SKUs() {
		known = append(known, s.Name)
		known = append(known, s.Aliases...)
	}
	return presets.SKU{}, usageErrorf("unknown GPU SKU %q%s: `kaito-sync skus` lists them", name, suggest(name, known))
}

// suggest is " (did you mean ...?)" with the likely typo's correction and up to four names
// holding name, or "".
func suggest(name string, known []string) string {
	var out []string
	if guess := workspaces.Closest(name, known); guess != "" {
		out = append(out, strconv.Quote(guess))
	}
	lower := strings.ToLower(strings.TrimSpace(name))
	for _, k := range known {
		if len(out) == 5 {
			break
		}
		if q := strconv.Quote(k); lower != "" && strings.Contains(strings.ToLower(k), lower) && !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(out, ", ") + "?)"
}

// catalogLabels name the fields of presets.Model, presets.SKU and what they hold, by JSON name, in
// describe's output.
var catalogLabels = map[string]string{
	"name": "Name", "huggingFaceID": "Hugging Face ID", "servedName": "Served name", "aliases": "Aliases",
	"catalogued": "Catalogued", "weightsGiB": "Weights (GiB)", "diskGiB": "Disk (GiB)",
	"bytesPerToken": "KV cache bytes per token", "tokenLimit": "Context window (tokens)", "architectures": "Architectures",
	"quantMethod": "Quantization", "gated": "Gated", "multiNode": "Multi-node", "vllm": "vLLM arguments",
	"disallowLoRA": "No LoRA on vLLM", "transformers": "Transformers", "tuning": "Tuning",
	"requiresCUDAToolkit": "Needs the CUDA toolkit", "requiresDeepGEMM": "Needs DeepGEMM", "kvCacheOffloadOff": "No KV cache CPU offload",
	"accelerate": "accelerate launch", "run": "Arguments", "weightsImage": "Weights image", "env": "Environment",
	"gpuMemoryGiBPerMethod": "GPU memory per method (GiB)", "gpuCount": "GPUs", "gpuMemoryGiB": "GPU memory (GiB, all GPUs)", "gpuModel": "GPU", "computeCapability": "Compute capability",
	"nvme": "Local NVMe", "legacy": "Legacy (not in Kaito's table)",
}

// describe writes every field of the struct v, one "Label:  value" line each, nested structs and
// maps indented below their label, as kubectl describe does; extra lines follow.
func describe(w io.Writer, v any, extra ...[2]string) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	describeStruct(tw, reflect.ValueOf(v), "")
	for _, e := range extra {
		fmt.Fprintf(tw, "%s:\t%s\n", e[0], e[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(b.String()) {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	return nil
}

func describeStruct(w io.Writer, v reflect.Value, indent string) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if !t.Field(i).IsExported() || name == "-" {
			continue
		}
		label := catalogLabels[name]
		if label == "" {
			label = name
		}
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.Struct:
			fmt.Fprintf(w, "%s%s:\t\n", indent, label)
			describeStruct(w, f.Elem(), indent+"  ")
		case f.Kind() == reflect.Map && f.Len() > 0:
			fmt.Fprintf(w, "%s%s:\t\n", indent, label)
			keys := f.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				val := ""
				if e := f.MapIndex(k); e.Kind() != reflect.String || e.String() != "" { // "": a bare flag
					val = describeValue(e)
				}
				fmt.Fprintf(w, "%s  %s\t%s\n", indent, k.String(), val)
			}
		default:
			fmt.Fprintf(w, "%s%s:\t%s\n", indent, label, describeValue(f))
		}
	}
}

func describeValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return catalogDash(v.String())
	case reflect.Bool:
		return catalogYesNo(v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32:
		if v.Int() == 0 {
			return "-"
		}
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		if v.Float() == 0 {
			return "-"
		}
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = describeValue(v.Index(i))
		}
		return catalogDash(strings.Join(parts, ", "))
	}
	if v.Kind() == reflect.Map || v.Kind() == reflect.Pointer && v.IsNil() {
		return "-"
	}
	return fmt.Sprint(v.Interface())
}
