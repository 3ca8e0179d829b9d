package render

import (
	"bytes"
	"fmt"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kaito-sync/kaito-sync/presets"
)

// sourceFileName is the overlay's source-annotations transformer.
const sourceFileName = "source.yaml"

// kustomization is the overlay's kustomization.yaml, fields in the order a reviewer reads them.
type kustomization struct {
	key string // "namespace/name", for the header

	APIVersion   string       `yaml:"apiVersion"`
	Kind         string       `yaml:"kind"`
	Namespace    string       `yaml:"namespace"`
	Resources    []string     `yaml:"resources"`
	Labels       []kLabel     `yaml:"labels"`
	Transformers []string     `yaml:"transformers,omitempty"`
	SortOptions  kSortOptions `yaml:"sortOptions"`
}

type kLabel struct {
	Pairs            map[string]string `yaml:"pairs"`
	IncludeTemplates bool              `yaml:"includeTemplates"`
}

type kSortOptions struct {
	Order             string      `yaml:"order"`
	LegacySortOptions kLegacySort `yaml:"legacySortOptions"`
}

type kLegacySort struct {
	OrderFirst []string `yaml:"orderFirst"`
	OrderLast  []string `yaml:"orderLast"`
}

// applyOrder is the order objects are built in, and applied: what the workload mounts and the
// Service in front of it first, the workload last.
var applyOrder = kSortOptions{
	Order: "legacy",
	LegacySortOptions: kLegacySort{
		OrderFirst: []string{"ConfigMap", "Secret", "PersistentVolumeClaim", "Service"},
		OrderLast:  []string{"StatefulSet", "Job"},
	},
}

const kustomizationHeader = `# Workspace %s, rendered by kaito-sync.
# ` + "`kustomize build`" + ` of this folder gives exactly the objects kaito-sync applies:
# - resources: one file per object Kaito %s creates for this workspace, and the companions
#   declared beside it;
# - labels: ownership on every object and its pods (workloads select kaito.sh/workspace);
# - transformers: where the workspace was declared, on each object's metadata only;
# - sortOptions: apply order, what the workload uses first and the workload last.
`

func (k *kustomization) marshal(withSource bool) ([]byte, error) {
	c := *k
	if withSource {
		c.Transformers = []string{sourceFileName}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, kustomizationHeader, k.key, presets.KaitoVersion)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
