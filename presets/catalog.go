// Package presets holds the catalogs kaito-sync judges workspaces against, as Kaito v0.12.0 has
// them: its model catalog (with the engine arguments Kaito derives for each model), the presets
// earlier releases had and this one refuses, the Azure GPU VM sizes, and the images the release
// ships. They are data embedded in the binary (data/), plus the rules that Kaito applies to
// Hugging Face ids it does not list and its node estimator.
package presets

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

// Catalog is a validated, read-only set of models, removed presets, SKUs and the release's images.
// Lookups hand out copies, so callers cannot change the shared Default catalog by accident.
type Catalog struct {
	release Release
	models  []Model   // sorted by Name, ignoring case
	removed []Removed // sorted by Name
	skus    []SKU     // sorted by Name
	// byName: lower-cased name, Hugging Face id or alias → index in models. Kaito lower-cases a
	// preset name before it looks it up, so every spelling of a name resolves.
	byName    map[string]int
	byServed  map[string]int // served name → index in models
	byRemoved map[string]int // lower-cased removed name → index in removed
	bySKU     map[string]int // lower-cased SKU name or alias → index in skus
}

var (
	//go:embed data/models.yaml
	modelsYAML []byte
	//go:embed data/skus.yaml
	skusYAML []byte
	//go:embed data/release.yaml
	releaseYAML []byte
)

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := Load(modelsYAML, skusYAML, releaseYAML)
	if err != nil {
		panic("presets: embedded catalog is broken: " + err.Error())
	}
	return c
})

// Default returns the catalog embedded in the binary.
func Default() *Catalog { return defaultCatalog() }

// explicit is a field the data file must write out even when it is empty ("tuning: null"), so
// that a forgotten key is an error instead of silently meaning "none".
type explicit[T any] struct {
	set bool
	v   *T
}

func (e *explicit[T]) UnmarshalJSON(b []byte) error {
	e.set = true
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	// Strict like the rest of the file: the outer decoder's DisallowUnknownFields does not reach
	// into a custom unmarshaler.
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	e.v = new(T)
	return d.Decode(e.v)
}

// modelEntry is how a model is written in the data file. Its outer fields shadow Model's.
type modelEntry struct {
	Model
	Transformers explicit[TransformersParams] `json:"transformers"`
	Tuning       explicit[TuningParams]       `json:"tuning"`
	// Catalogued is not written: every entry of the file is catalogued.
	Catalogued *bool `json:"catalogued"`
}

type modelsFile struct {
	Models  []modelEntry `json:"models"`
	Removed []Removed    `json:"removed"`
}

type skusFile struct {
	SKUs []SKU `json:"skus"`
}

// Load parses and checks a models file, a SKUs file and a release file (the formats of
// data/models.yaml, data/skus.yaml and data/release.yaml). It is strict because a typo in a field
// name would otherwise quietly turn a size into zero or drop an engine argument.
func Load(models, skus, release []byte) (*Catalog, error) {
	var mf modelsFile
	if err := yaml.UnmarshalStrict(models, &mf); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	var sf skusFile
	if err := yaml.UnmarshalStrict(skus, &sf); err != nil {
		return nil, fmt.Errorf("skus: %w", err)
	}
	var rel Release
	if err := yaml.UnmarshalStrict(release, &rel); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if len(mf.Models) == 0 {
		return nil, errors.New("models: no models")
	}
	if len(sf.SKUs) == 0 {
		return nil, errors.New("skus: no skus")
	}

	c := &Catalog{release: rel, byName: map[string]int{}, byServed: map[string]int{}, byRemoved: map[string]int{}, bySKU: map[string]int{}}
	var errs []error
	if err := checkRelease(rel); err != nil {
		errs = append(errs, fmt.Errorf("release: %w", err))
	}
	for i, e := range mf.Models {
		m := e.Model
		m.Catalogued = true
		m.Transformers, m.Tuning = e.Transformers.v, e.Tuning.v
		var missing []string
		if !e.Transformers.set {
			missing = append(missing, "transformers (its parameters, or null)")
		}
		if !e.Tuning.set {
			missing = append(missing, "tuning (its parameters, or null)")
		}
		err := checkModel(m, rel, missing)
		if e.Catalogued != nil {
			err = errors.Join(err, errors.New("catalogued is not written in the file: every entry is catalogued"))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("models[%d] %q: %w", i, m.Name, err))
			continue
		}
		c.models = append(c.models, m)
	}
	for i, r := range mf.Removed {
		if err := checkRemoved(r); err != nil {
			errs = append(errs, fmt.Errorf("removed[%d] %q: %w", i, r.Name, err))
			continue
		}
		c.removed = append(c.removed, r)
	}
	for i, s := range sf.SKUs {
		if err := checkSKU(s); err != nil {
			errs = append(errs, fmt.Errorf("skus[%d] %q: %w", i, s.Name, err))
			continue
		}
		c.skus = append(c.skus, s)
	}
	slices.SortStableFunc(c.models, func(a, b Model) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	slices.SortStableFunc(c.removed, func(a, b Removed) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(c.skus, func(a, b SKU) int { return strings.Compare(a.Name, b.Name) })

	for i, m := range c.models {
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			key := strings.ToLower(n)
			if j, dup := c.byName[key]; dup {
				errs = append(errs, fmt.Errorf("models: %q of %s is already a name or alias of %s", n, m.Name, c.models[j].Name))
				continue
			}
			c.byName[key] = i
		}
		if j, dup := c.byServed[m.ServedName]; dup {
			errs = append(errs, fmt.Errorf("models: %s and %s have the same served name %q", c.models[j].Name, m.Name, m.ServedName))
		}
		c.byServed[m.ServedName] = i
	}
	for i, r := range c.removed {
		key := strings.ToLower(r.Name)
		if _, dup := c.byRemoved[key]; dup {
			errs = append(errs, fmt.Errorf("removed: %q listed twice", r.Name))
		}
		if j, ok := c.byName[key]; ok {
			errs = append(errs, fmt.Errorf("removed: %q still resolves to %s", r.Name, c.models[j].Name))
		}
		c.byRemoved[key] = i
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

var releaseVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

func checkRelease(r Release) error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"kaito", r.Kaito}, {"registry", r.Registry}, {"baseImage", r.BaseImage}, {"adapterPuller", r.AdapterPuller},
		{"pusher", r.Pusher}, {"weightsPuller", r.WeightsPuller}, {"dataDownloader", r.DataDownloader}, {"pause", r.Pause},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		}
	}
	if r.Kaito != "" && r.Kaito != KaitoVersion {
		errs = append(errs, fmt.Errorf("kaito is %s but this build follows %s (KaitoVersion)", r.Kaito, KaitoVersion))
	}
	if r.BaseImage != "" && !strings.HasPrefix(r.BaseImage, r.Registry+"/kaito-base:") {
		errs = append(errs, fmt.Errorf("baseImage %q is not %s/kaito-base:<tag>", r.BaseImage, r.Registry))
	}
	return errors.Join(errs...)
}

func checkModel(m Model, rel Release, missing []string) error {
	var errs []error
	for _, f := range missing {
		errs = append(errs, fmt.Errorf("%s is required", f))
	}
	if err := splitHuggingFaceID(m.Name); err != nil {
		errs = append(errs, fmt.Errorf("name: %w", err))
	} else {
		if m.HuggingFaceID != strings.ToLower(m.Name) {
			errs = append(errs, fmt.Errorf("huggingFaceID must be the name lower-cased (%q), got %q", strings.ToLower(m.Name), m.HuggingFaceID))
		}
		if m.ServedName != servedNameOf(m.Name) {
			errs = append(errs, fmt.Errorf("servedName must be the name's last segment lower-cased (%q), got %q", servedNameOf(m.Name), m.ServedName))
		}
	}
	for i, a := range m.Aliases {
		if a == "" || a != strings.ToLower(a) || strings.ContainsAny(a, "/ ") {
			errs = append(errs, fmt.Errorf("aliases[%d] %q: a legacy name is lower case, without spaces or \"/\"", i, a))
		}
	}
	if m.WeightsGiB <= 0 {
		errs = append(errs, errors.New("weightsGiB (> 0) is required"))
	}
	if want := int(m.WeightsGiB + float64(uncataloguedDiskGiB)); m.DiskGiB != want {
		errs = append(errs, fmt.Errorf("diskGiB must be int(weightsGiB + %d) = %d, got %d", uncataloguedDiskGiB, want, m.DiskGiB))
	}
	if m.BytesPerToken <= 0 {
		errs = append(errs, errors.New("bytesPerToken (> 0) is required"))
	}
	if m.TokenLimit <= 0 {
		errs = append(errs, errors.New("tokenLimit (> 0) is required"))
	}
	if len(m.Architectures) == 0 {
		errs = append(errs, errors.New("architectures are required"))
	}
	for _, k := range []string{"load_format", "config_format", "tokenizer_mode", "dtype"} {
		if _, ok := m.VLLM[k]; !ok {
			errs = append(errs, fmt.Errorf("vllm.%s is required", k))
		}
	}
	if t := m.Transformers; t != nil && (t.Accelerate == nil || t.Run == nil) {
		errs = append(errs, errors.New("transformers needs accelerate and run"))
	}
	if t := m.Tuning; t != nil {
		if prefix := rel.Registry + "/kaito-"; !strings.HasPrefix(t.WeightsImage, prefix) || !strings.Contains(t.WeightsImage[len(prefix):], ":") {
			errs = append(errs, fmt.Errorf("tuning.weightsImage %q is not %s<name>:<tag>", t.WeightsImage, prefix))
		}
		if t.DiskGiB < 0 {
			errs = append(errs, errors.New("tuning.diskGiB must not be negative"))
		}
	}
	return errors.Join(errs...)
}

func checkRemoved(r Removed) error {
	var errs []error
	if r.Name == "" || r.Name != strings.ToLower(r.Name) || strings.Contains(r.Name, "/") {
		errs = append(errs, errors.New("name must be a lower-case preset name without \"/\""))
	}
	if !releaseVersion.MatchString(r.Release) {
		errs = append(errs, fmt.Errorf("release %q is not a Kaito release like v0.11.0", r.Release))
	}
	if r.Replacement != "" {
		if err := splitHuggingFaceID(r.Replacement); err != nil {
			errs = append(errs, fmt.Errorf("replacement: %w", err))
		}
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
	if s.ComputeCapability < 0 {
		errs = append(errs, errors.New("computeCapability must not be negative"))
	}
	if s.Legacy && (s.ComputeCapability == 0 || s.ComputeCapability >= 8) {
		errs = append(errs, errors.New("legacy is for NVIDIA GPUs of compute capability below 8.0 (set computeCapability)"))
	}
	for i, a := range s.Aliases {
		if a == "" {
			errs = append(errs, fmt.Errorf("aliases[%d] is empty", i))
		}
	}
	return errors.Join(errs...)
}

// Release returns the Kaito release's images.
func (c *Catalog) Release() Release { return c.release }

// Model returns the catalog entry called name: its Hugging Face id or a legacy short name (an
// alias), in any case, as Kaito lower-cases preset names before it looks them up. It does not make
// models for uncatalogued Hugging Face ids: Resolve and HuggingFace do.
func (c *Catalog) Model(name string) (Model, bool) {
	i, ok := c.byName[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Model{}, false
	}
	return copyModel(c.models[i]), true
}

// Removed returns the preset name an earlier Kaito release had and this one refuses.
func (c *Catalog) Removed(name string) (Removed, bool) {
	i, ok := c.byRemoved[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return Removed{}, false
	}
	return c.removed[i], true
}

// RemovedPresets returns all removed preset names, sorted by name.
func (c *Catalog) RemovedPresets() []Removed { return slices.Clone(c.removed) }

// RemovedError is Resolve's error for a preset name Kaito no longer has.
type RemovedError struct{ Removed }

func (e *RemovedError) Error() string {
	msg := fmt.Sprintf("preset %q was removed in Kaito %s", e.Name, e.Release)
	if e.Replacement != "" {
		msg += fmt.Sprintf("; use the Hugging Face id %q instead (Kaito serves it on vLLM, sized from huggingface.co)", e.Replacement)
	}
	return msg
}

// Resolve returns the model a workspace's preset name stands for, as Kaito v0.12.0 resolves it: a
// catalog entry by Hugging Face id or legacy name (Model); else, for a name an earlier release had,
// a *RemovedError naming the release that removed it and the id to use instead; else, for a name
// with one "/", the model Kaito makes for an uncatalogued Hugging Face id (HuggingFace); else an
// "unknown preset" error (IsUnknown).
func (c *Catalog) Resolve(name string) (Model, error) {
	if m, ok := c.Model(name); ok {
		return m, nil
	}
	if r, ok := c.Removed(name); ok {
		return Model{}, &RemovedError{r}
	}
	if strings.Contains(name, "/") {
		return c.HuggingFace(name)
	}
	return Model{}, fmt.Errorf("%w %q: not a Kaito %s preset name nor a Hugging Face id (org/model)", errUnknown, name, KaitoVersion)
}

// SKU returns the VM size called name or one of its aliases, ignoring case as Azure (and Kaito)
// do. The SKU returned carries its canonical name.
func (c *Catalog) SKU(name string) (SKU, bool) {
	i, ok := c.bySKU[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return SKU{}, false
	}
	return copySKU(c.skus[i]), true
}

// Models returns all catalog entries sorted by Name, ignoring case.
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
	m.Aliases = slices.Clone(m.Aliases)
	m.Architectures = slices.Clone(m.Architectures)
	m.VLLM = cloneMap(m.VLLM)
	if t := m.Transformers; t != nil {
		m.Transformers = &TransformersParams{Accelerate: cloneMap(t.Accelerate), Run: cloneMap(t.Run)}
	}
	if t := m.Tuning; t != nil {
		c := *t
		c.Accelerate, c.Run, c.Env = cloneMap(t.Accelerate), cloneMap(t.Run), cloneMap(t.Env)
		c.GPUMemoryGiBPerMethod = cloneMap(t.GPUMemoryGiBPerMethod)
		m.Tuning = &c
	}
	return m
}

func copySKU(s SKU) SKU {
	s.Aliases = slices.Clone(s.Aliases)
	return s
}
