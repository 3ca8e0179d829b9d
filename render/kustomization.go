package render

import (
	"bytes"
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// sourceFileName is the overlay's source-annotations transformer.
const sourceFileName = "source.yaml"

// kustomization is the overlay's kustomization.yaml, fields in the order a reviewer reads them.
type kustomization struct {
	key string // "namespace/name", for the header

	APIVersion         string         `yaml:"apiVersion"`
	Kind               string         `yaml:"kind"`
	Namespace          string         `yaml:"namespace"`
	Resources          []string       `yaml:"resources"`
	ConfigMapGenerator []configMapGen `yaml:"configMapGenerator,omitempty"`
	Labels             []kLabel       `yaml:"labels"`
	Images             []kImage       `yaml:"images,omitempty"`
	Patches            []kPatch       `yaml:"patches,omitempty"`
	Transformers       []string       `yaml:"transformers,omitempty"`
	SortOptions        kSortOptions   `yaml:"sortOptions"`
}

type configMapGen struct {
	Name    string     `yaml:"name"`
	Files   []string   `yaml:"files"`
	Options genOptions `yaml:"options"`
}

type genOptions struct {
	// The name stays fixed: a Job's pod template cannot change, so a hashed name would make every
	// config edit an apply error instead of a new config for the next run.
	DisableNameSuffixHash bool `yaml:"disableNameSuffixHash"`
}

type kLabel struct {
	Pairs            map[string]string `yaml:"pairs"`
	IncludeTemplates bool              `yaml:"includeTemplates"`
}

type kImage struct {
	Name    string `yaml:"name"`
	NewName string `yaml:"newName"`
	NewTag  string `yaml:"newTag,omitempty"`
	Digest  string `yaml:"digest,omitempty"`
}

type kPatch struct {
	Path    string       `yaml:"path"`
	Target  kTarget      `yaml:"target"`
	Options patchOptions `yaml:"options"`
}

type kTarget struct {
	Kind string `yaml:"kind"`
	Name string `yaml:"name"`
}

type patchOptions struct {
	AllowNameChange bool `yaml:"allowNameChange"`
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
# - resources: the shared base, and the objects of this workspace alone;
# - patches: rename the base objects to the workspace (options.allowNameChange) and set what is
#   the workspace's own;
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
	b.WriteString(fmt.Sprintf(kustomizationHeader, k.key))
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
