// Package presets holds the catalogs kaito-sync judges workspaces against: Kaito's model presets and
// Azure's GPU VM sizes, as data embedded in the binary, with the sizing rules that say how many nodes
// of a SKU a model needs.
package presets

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

// Runtime is an inference engine a preset can run on.
type Runtime string

const (
	RuntimeVLLM         Runtime = "vllm"
	RuntimeTransformers Runtime = "transformers"
)

// Model is one Kaito model preset.
type Model struct {
	Name   string `json:"name"`
	Family string `json:"family"`
	// GPUCount is the fixed GPU count of older presets; 0 means the preset is sized from its weights.
	GPUCount int `json:"gpuCount,omitempty"`
	// GPUMemoryGiB is the total GPU memory a fixed-size preset needs; 0 for weight-sized presets.
	GPUMemoryGiB float64 `json:"gpuMemoryGiB,omitempty"`
	// WeightsGiB is the size of the model weights; 0 when unknown (old presets).
	WeightsGiB float64 `json:"weightsGiB,omitempty"`
	DiskGiB    int     `json:"diskGiB"`
	// BytesPerToken is the KV-cache size of one token across all layers (2 × layers × kv-heads ×
	// head-dim × dtype bytes), used by the node estimator; 0 when unknown.
	BytesPerToken int64     `json:"bytesPerToken,omitempty"`
	Runtimes      []Runtime `json:"runtimes"`
	// Image is the preset's inference image; empty for private presets, whose image the user gives.
	Image      string `json:"image,omitempty"`
	DType      string `json:"dtype,omitempty"`
	Tuning     bool   `json:"tuning"`
	Gated      bool   `json:"gated,omitempty"`
	Private    bool   `json:"private,omitempty"`
	Deprecated bool   `json:"deprecated,omitempty"`
	MultiNode  bool   `json:"multiNode,omitempty"`
}

// SKU is one Azure GPU VM size.
type SKU struct {
	Name         string   `json:"name"`
	Aliases      []string `json:"aliases,omitempty"`
	GPUCount     int      `json:"gpuCount"`
	GPUMemoryGiB float64  `json:"gpuMemoryGiB"` // total over all GPUs of the VM
	GPUModel     string   `json:"gpuModel"`
}

// Supports reports whether the preset can run on r.
func (m Model) Supports(r Runtime) bool { return slices.Contains(m.Runtimes, r) }

// DefaultRuntime is the runtime Kaito picks without a kaito.sh/runtime annotation: vLLM, unless the
// preset predates it.
func (m Model) DefaultRuntime() Runtime {
	if m.Supports(RuntimeVLLM) || len(m.Runtimes) == 0 {
		return RuntimeVLLM
	}
	return m.Runtimes[0]
}

// Catalog is a validated, read-only set of presets and SKUs. Lookups hand out copies, so callers
// cannot change the shared Default catalog by accident.
type Catalog struct {
	models []Model        // sorted by name
	skus   []SKU          // sorted by name
	byName map[string]int // model name → index in models
	bySKU  map[string]int // lower-cased SKU name or alias → index in skus
}

var (
	//go:embed data/models.yaml
	modelsYAML []byte
	//go:embed data/skus.yaml
	skusYAML []byte
)

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := Load(modelsYAML, skusYAML)
	if err != nil {
		panic("presets: embedded catalog is broken: " + err.Error())
	}
	return c
})

// Default returns the catalog embedded in the binary.
func Default() *Catalog { return defaultCatalog() }

// modelEntry is how a model is written in the data file. Tuning is a pointer there so that a
// forgotten "tuning:" is an error instead of silently meaning "cannot be tuned"; the outer field
// shadows Model.Tuning when decoding.
type modelEntry struct {
	Model
	Tuning *bool `json:"tuning"`
}

type modelsFile struct {
	Models []modelEntry `json:"models"`
}

type skusFile struct {
	SKUs []SKU `json:"skus"`
}

// Load parses and checks a models file and a SKUs file (the formats of data/models.yaml and
// data/skus.yaml). It is strict because a typo in a field name would otherwise quietly turn a
// sizing figure into zero.
func Load(models, skus []byte) (*Catalog, error) {
	var mf modelsFile
	if err := yaml.UnmarshalStrict(models, &mf); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	var sf skusFile
	if err := yaml.UnmarshalStrict(skus, &sf); err != nil {
		return nil, fmt.Errorf("skus: %w", err)
	}
	if len(mf.Models) == 0 {
		return nil, errors.New("models: no models")
	}
	if len(sf.SKUs) == 0 {
		return nil, errors.New("skus: no skus")
	}

	c := &Catalog{byName: map[string]int{}, bySKU: map[string]int{}}
	var errs []error
	for i, e := range mf.Models {
		m := e.Model
		if e.Tuning != nil {
			m.Tuning = *e.Tuning
		}
		if err := checkModel(m, e.Tuning != nil); err != nil {
			errs = append(errs, fmt.Errorf("models[%d] %q: %w", i, m.Name, err))
			continue
		}
		c.models = append(c.models, m)
	}
	for i, s := range sf.SKUs {
		if err := checkSKU(s); err != nil {
			errs = append(errs, fmt.Errorf("skus[%d] %q: %w", i, s.Name, err))
			continue
		}
		c.skus = append(c.skus, s)
	}
	slices.SortStableFunc(c.models, func(a, b Model) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(c.skus, func(a, b SKU) int { return strings.Compare(a.Name, b.Name) })

	for i, m := range c.models {
		if _, dup := c.byName[m.Name]; dup {
			errs = append(errs, fmt.Errorf("models: duplicate name %q", m.Name))
		}
		c.byName[m.Name] = i
	}
	for i, s := range c.skus {
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			key := strings.ToLower(n)
			if j, dup := c.bySKU[key]; dup {
				errs = append(errs, fmt.Errorf("skus: %q of %s is already a name or alias of %s", n, s.Name, c.skus[j].Name))
				continue
			}
			c.bySKU[key] = i
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func checkModel(m Model, hasTuning bool) error {
	var errs []error
	missing := func(field string) { errs = append(errs, fmt.Errorf("%s is required", field)) }
	switch {
	case m.Name == "":
		missing("name")
	case m.Name != strings.ToLower(strings.TrimSpace(m.Name)):
		errs = append(errs, errors.New("name must be lower case without spaces, as Kaito spells presets"))
	}
	if m.Family == "" {
		missing("family")
	}
	if m.DiskGiB <= 0 {
		missing("diskGiB (> 0)")
	}
	if m.DType == "" {
		missing("dtype")
	}
	if !hasTuning {
		missing("tuning (true or false)")
	}
	if len(m.Runtimes) == 0 {
		missing("runtimes")
	}
	for i, r := range m.Runtimes {
		if r != RuntimeVLLM && r != RuntimeTransformers {
			errs = append(errs, fmt.Errorf("runtimes[%d]: unknown runtime %q (want vllm or transformers)", i, r))
		}
		if slices.Contains(m.Runtimes[:i], r) {
			errs = append(errs, fmt.Errorf("runtimes[%d]: %q listed twice", i, r))
		}
	}
	switch {
	case m.Private && m.Image != "":
		errs = append(errs, errors.New("a private preset has no image: the user supplies it"))
	case !m.Private && m.Image == "":
		missing("image (unless private)")
	}
	if m.GPUCount < 0 || m.GPUMemoryGiB < 0 || m.WeightsGiB < 0 || m.BytesPerToken < 0 {
		errs = append(errs, errors.New("sizes must not be negative"))
	}
	// A fixed preset needs both numbers, or the webhook rule would check only half of it.
	if (m.GPUCount > 0) != (m.GPUMemoryGiB > 0) {
		errs = append(errs, errors.New("gpuCount and gpuMemoryGiB go together: set both (fixed size) or neither (sized by weights)"))
	}
	return errors.Join(errs...)
}

func checkSKU(s SKU) error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if s.GPUCount <= 0 {
		errs = append(errs, errors.New("gpuCount (> 0) is required"))
	}
	if s.GPUMemoryGiB <= 0 {
		errs = append(errs, errors.New("gpuMemoryGiB (> 0) is required"))
	}
	if s.GPUModel == "" {
		errs = append(errs, errors.New("gpuModel is required"))
	}
	for i, a := range s.Aliases {
		if a == "" {
			errs = append(errs, fmt.Errorf("aliases[%d] is empty", i))
		}
	}
	return errors.Join(errs...)
}

// Model returns the preset called name (exact, as Kaito matches preset names).
func (c *Catalog) Model(name string) (Model, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Model{}, false
	}
	return copyModel(c.models[i]), true
}

// SKU returns the VM size called name or one of its aliases, ignoring case as Azure does. The SKU
// returned carries its canonical name.
func (c *Catalog) SKU(name string) (SKU, bool) {
	i, ok := c.bySKU[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return SKU{}, false
	}
	return copySKU(c.skus[i]), true
}

// Models returns all presets sorted by name.
func (c *Catalog) Models() []Model {
	out := make([]Model, len(c.models))
	for i, m := range c.models {
		out[i] = copyModel(m)
	}
	return out
}

// SKUs returns all VM sizes sorted by name.
func (c *Catalog) SKUs() []SKU {
	out := make([]SKU, len(c.skus))
	for i, s := range c.skus {
		out[i] = copySKU(s)
	}
	return out
}

func copyModel(m Model) Model {
	m.Runtimes = slices.Clone(m.Runtimes)
	return m
}

func copySKU(s SKU) SKU {
	s.Aliases = slices.Clone(s.Aliases)
	return s
}
