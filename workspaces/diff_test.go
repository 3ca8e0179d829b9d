package workspaces

import (
	"strings"
	"testing"

	"github.com/matryer/is"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiff(t *testing.T) {
	// edit returns doc with old replaced by new once, failing loudly when the baseline moved.
	edit := func(doc string, pairs ...string) string {
		for i := 0; i+1 < len(pairs); i += 2 {
			if !strings.Contains(doc, pairs[i]) {
				panic("baseline has no " + pairs[i])
			}
			doc = strings.Replace(doc, pairs[i], pairs[i+1], 1)
		}
		return doc
	}
	const gated = `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: llama
inference:
  preset:
    name: llama-3.1-8b-instruct
    presetOptions:
      modelAccessSecret: hf-token
`
	type change struct {
		field     string
		immutable bool
		old, new  string // checked when not empty
	}
	tests := []struct {
		name     string
		old, new string
		want     []change
	}{
		// Nothing changed.
		{"identical", baseInference, baseInference, nil},
		{"identical tuning", baseTuningURLs, baseTuningURLs, nil},
		{"count unset is count 1", baseInference, edit(baseInference, "resource:\n", "resource:\n  count: 1\n"), nil},
		{"v1alpha1 default instanceType equals the explicit one",
			edit(baseInference, "  instanceType: Standard_NC24ads_A100_v4\n", ""), baseInference, nil},
		// Kaito compares selectors as the labels they stand for (LabelSelectorAsMap).
		{"matchLabels rewritten as a single-value In",
			baseInference, edit(baseInference, "    matchLabels:\n      apps: phi\n", "    matchExpressions:\n      - {key: apps, operator: In, values: [phi]}\n"), nil},
		{"matchLabels split between matchLabels and In",
			edit(baseInference, "      apps: phi\n", "      apps: phi\n      team: ml\n"),
			edit(baseInference, "      apps: phi\n", "      team: ml\n    matchExpressions:\n      - {key: apps, operator: In, values: [phi]}\n"), nil},
		{"matchLabels order does not matter",
			edit(baseInference, "      apps: phi\n", "      apps: phi\n      team: ml\n"),
			edit(baseInference, "      apps: phi\n", "      team: ml\n      apps: phi\n"), nil},
		{"no adapters and an empty list", baseInference, baseInference + "  adapters: []\n", nil},
		{"no preferredNodes and an empty list", baseInference, edit(baseInference, "resource:\n", "resource:\n  preferredNodes: []\n"), nil},
		{"no annotations and an empty map", baseInference, edit(baseInference, "  name: ws\n", "  name: ws\n  annotations: {}\n"), nil},
		{"no labels and an empty map", baseInference, edit(baseInference, "  name: ws\n", "  name: ws\n  labels: {}\n"), nil},
		{"status is ignored", baseInference, baseInference + "status:\n  conditions: []\n", nil},

		// Immutable: Kaito refuses these on a running workspace.
		{"count", edit(baseInference, "resource:\n", "resource:\n  count: 1\n"), edit(baseInference, "resource:\n", "resource:\n  count: 2\n"),
			[]change{{field: "resource.count", immutable: true, old: "1", new: "2"}}},
		{"instanceType", baseInference, edit(baseInference, "Standard_NC24ads_A100_v4", "Standard_NC48ads_A100_v4"),
			[]change{{field: "resource.instanceType", immutable: true, old: "Standard_NC24ads_A100_v4", new: "Standard_NC48ads_A100_v4"}}},
		{"v1alpha1 default instanceType to another",
			edit(baseInference, "  instanceType: Standard_NC24ads_A100_v4\n", ""), edit(baseInference, "Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5"),
			[]change{{field: "resource.instanceType", immutable: true, old: "Standard_NC24ads_A100_v4", new: "Standard_NC40ads_H100_v5"}}},
		{"v1beta1 bring-your-own nodes to a provisioned instanceType",
			baseBYO, edit(baseBYO, "resource:\n", "resource:\n  instanceType: Standard_NC24ads_A100_v4\n"),
			[]change{{field: "resource.instanceType", immutable: true, old: "", new: "Standard_NC24ads_A100_v4"}}},
		{"labelSelector", baseInference, edit(baseInference, "apps: phi", "apps: phi-3"),
			[]change{{field: "resource.labelSelector", immutable: true}}},
		{"partition", basePartition, edit(basePartition, "1g.10gb", "2g.20gb"),
			[]change{{field: "resource.partition", immutable: true}}},
		{"labelSelector from matchLabels to another In value", baseInference,
			edit(baseInference, "    matchLabels:\n      apps: phi\n", "    matchExpressions:\n      - {key: apps, operator: In, values: [phi-3]}\n"),
			[]change{{field: "resource.labelSelector", immutable: true, old: `{"matchLabels":{"apps":"phi"}}`, new: `{"matchLabels":{"apps":"phi-3"}}`}}},
		{"inference.preset.name", baseInference, edit(baseInference, "phi-3-mini-4k-instruct", "phi-3.5-mini-instruct"),
			[]change{{field: "inference.preset.name", immutable: true, old: "phi-3-mini-4k-instruct", new: "phi-3.5-mini-instruct"}}},
		// Kaito compares the whole preset (reflect.DeepEqual), options included.
		{"inference.preset options", gated, edit(gated, "hf-token", "hf-token-2"),
			[]change{{field: "inference.preset", immutable: true}}},
		{"template set", baseInference, edit(baseTemplate, "apps: custom", "apps: phi"),
			[]change{
				{field: "inference.preset.name", immutable: true, old: "phi-3-mini-4k-instruct", new: ""},
				{field: "inference.preset", immutable: true},
				{field: "inference.template", immutable: true, old: "", new: "true"},
				{field: "inference.template.spec", immutable: false},
			}},
		{"template unset", edit(baseTemplate, "apps: custom", "apps: phi"), baseInference,
			[]change{
				{field: "inference.preset.name", immutable: true, old: "", new: "phi-3-mini-4k-instruct"},
				{field: "inference.preset", immutable: true},
				{field: "inference.template", immutable: true, old: "true", new: ""},
				{field: "inference.template.spec", immutable: false},
			}},
		{"tuning.preset", baseTuningURLs, edit(baseTuningURLs, "phi-3-mini-128k-instruct", "phi-3-mini-4k-instruct"),
			[]change{{field: "tuning.preset", immutable: true}}},
		{"tuning.method", baseTuningURLs, edit(baseTuningURLs, "method: qlora", "method: lora"),
			[]change{{field: "tuning.method", immutable: true, old: "qlora", new: "lora"}}},
		{"tuning.input.name", baseTuningVolumes, edit(baseTuningVolumes, "name: tickets", "name: tickets-2"),
			[]change{{field: "tuning.input.name", immutable: true, old: "tickets", new: "tickets-2"}}},
		{"inference to tuning", edit(baseInference, "apps: phi", "apps: tuning"), baseTuningURLs,
			[]change{
				{field: "inference.preset.name", immutable: true},
				{field: "inference.preset", immutable: true},
				{field: "tuning.preset", immutable: true},
				{field: "tuning.method", immutable: true},
				{field: "tuning.input", immutable: false},
				{field: "tuning.output", immutable: false},
			}},

		// Mutable: applied in place.
		{"adapters added", baseInference, baseAdapters,
			[]change{{field: "inference.adapters", immutable: false}}},
		// One field of one adapter reads as that field, as JSON: not as two lists.
		{"adapter strength", withStrength(baseAdapters, "0.5"), withStrength(baseAdapters, "0.7"),
			[]change{{field: "inference.adapters[0].strength", immutable: false, old: `"0.5"`, new: `"0.7"`}}},
		{"adapter strength set", baseAdapters, withStrength(baseAdapters, "0.5"),
			[]change{{field: "inference.adapters[0].strength", immutable: false, new: `"0.5"`}, {field: "metadata.annotations"}}},
		{"inference.config", baseInference, baseInference + "  config: phi-params\n",
			[]change{{field: "inference.config", immutable: false, old: "", new: "phi-params"}}},
		{"template contents", baseTemplate, edit(baseTemplate, "value: fast", "value: slow"),
			[]change{{field: "inference.template.spec", immutable: false}}},
		{"preferredNodes", baseBYO, edit(baseBYO, "gpu-node-1", "gpu-node-2"),
			[]change{{field: "resource.preferredNodes", immutable: false, old: `["gpu-node-1"]`, new: `["gpu-node-2"]`}}},
		{"annotations", baseInference, edit(baseInference, "  name: ws\n", "  name: ws\n  annotations:\n    kaito.sh/enablelb: \"True\"\n"),
			[]change{{field: "metadata.annotations", immutable: false, old: "", new: `{"kaito.sh/enablelb":"True"}`}}},
		{"labels", baseInference, edit(baseInference, "  name: ws\n", "  name: ws\n  labels:\n    team: ml\n"),
			[]change{{field: "metadata.labels", immutable: false}}},
		{"tuning input urls", baseTuningURLs, edit(baseTuningURLs, "train.parquet", "test.parquet"),
			[]change{{field: "tuning.input", immutable: false}}},
		{"tuning config", baseTuningVolumes, edit(baseTuningVolumes, "  method: lora\n", "  method: lora\n  config: lora-params\n"),
			[]change{{field: "tuning.config", immutable: false}}},
		{"tuning output", baseTuningVolumes, edit(baseTuningVolumes, "claimName: tuning-output", "claimName: tuning-output-2"),
			[]change{{field: "tuning.output", immutable: false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got := Diff(workspaceFromYAML(t, tt.old), workspaceFromYAML(t, tt.new))
			if len(got) != len(tt.want) {
				t.Logf("got %+v", got)
			}
			is.Equal(len(got), len(tt.want)) // number of changes
			wantImmutable := false
			for i, w := range tt.want {
				wantImmutable = wantImmutable || w.immutable
				if i >= len(got) {
					break
				}
				is.Equal(got[i].Field, w.field)
				is.Equal(got[i].Immutable, w.immutable)
				if w.old != "" || w.new != "" {
					is.Equal(got[i].Old, w.old)
					is.Equal(got[i].New, w.new)
				}
			}
			is.Equal(HasImmutable(got), wantImmutable)
		})
	}
}

// TestDiffIsSymmetric: swapping old and new swaps Old and New and keeps the verdicts.
func TestDiffIsSymmetric(t *testing.T) {
	is := is.New(t)
	a := workspaceFromYAML(t, baseAdapters)
	b := workspaceFromYAML(t, strings.Replace(strings.Replace(baseAdapters, "name: support", "name: support-2", 1), "phi-3-mini-4k-instruct", "phi-4-mini-instruct", 1))
	ab, ba := Diff(a, b), Diff(b, a)
	is.Equal(len(ab), 2)
	is.Equal(len(ab), len(ba))
	for i := range ab {
		is.Equal(ab[i].Field, ba[i].Field)
		is.Equal(ab[i].Immutable, ba[i].Immutable)
		is.Equal(ab[i].Old, ba[i].New)
	}
}

// TestSelectorLabelsKeepsMatchLabels: comparing selectors as the labels they stand for must not
// change the recreate key of a workspace written with matchLabels, or each of them would be
// recreated once after an upgrade.
func TestSelectorLabelsKeepsMatchLabels(t *testing.T) {
	is := is.New(t)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"apps": "phi", "team": "ml"}}
	is.Equal(render(selectorLabels(sel)), render(sel))
	is.Equal(render(selectorLabels(nil)), render((*metav1.LabelSelector)(nil)))
	is.Equal(render(selectorLabels(&metav1.LabelSelector{})), render(&metav1.LabelSelector{}))
	exists := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "apps", Operator: metav1.LabelSelectorOpExists}}}
	is.Equal(selectorLabels(exists), exists) // not a set of labels: compared as written
}

func TestHasImmutable(t *testing.T) {
	is := is.New(t)
	is.True(!HasImmutable(nil))
	is.True(!HasImmutable([]Change{{Field: "inference.adapters"}, {Field: "inference.config"}}))
	is.True(HasImmutable([]Change{{Field: "inference.adapters"}, {Field: "resource.count", Immutable: true}}))
}
