package workspaces

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kaito-sync/kaito-sync/presets"
)

// Validate judges one workspace as Kaito's admission webhook would, plus the checks Kaito leaves to
// the moment it fails at run time (placeholders, image references, reachable data URLs). It is pure:
// no I/O, no cluster. Problems carry the workspace's file positions.
func Validate(ws *Workspace, cat *presets.Catalog) Problems {
	return validate(ws, cat, 0)
}

// validate takes the max-model-len of the workspace's inference config, when one is in the repo,
// because the node estimator sizes the KV cache from it.
func validate(ws *Workspace, cat *presets.Catalog, maxModelLen int) Problems {
	v := &validator{ws: ws, cat: cat, maxModelLen: maxModelLen}
	v.metadata()
	v.annotations()
	v.resource()
	switch {
	case ws.Inference != nil && ws.Tuning != nil:
		v.errorf("tuning", "a workspace has either inference or tuning, not both: split it into two workspaces")
	case ws.Inference == nil && ws.Tuning == nil:
		if !v.decodedAway("inference") && !v.decodedAway("tuning") {
			v.errorf("", "a workspace needs inference (to serve a model) or tuning (to fine-tune one)")
		}
	case ws.Inference != nil:
		v.inference()
	default:
		v.tuning()
	}
	v.leftoverPlaceholders()
	return v.problems
}

type validator struct {
	ws          *Workspace
	cat         *presets.Catalog
	maxModelLen int
	problems    Problems
	model       *presets.Model
}

func (v *validator) add(sev Severity, field, format string, args ...any) {
	at := v.ws.Locate(field)
	v.problems = append(v.problems, Problem{
		Severity: sev, Path: at.Path, Line: at.Line, Col: at.Col,
		Workspace: v.key(), Field: field, Message: fmt.Sprintf(format, args...),
	})
}

// key is the workspace's "namespace/name", or "" while it has no name.
func (v *validator) key() string {
	if v.ws.Metadata.Name == "" {
		return ""
	}
	return v.ws.Key()
}

func (v *validator) errorf(field, format string, args ...any) { v.add(Error, field, format, args...) }
func (v *validator) warnf(field, format string, args ...any)  { v.add(Warning, field, format, args...) }

// check reports a non-empty message from one of the check* helpers.
func (v *validator) check(field, msg string) bool {
	if msg != "" {
		v.errorf(field, "%s", msg)
		return false
	}
	return true
}

// decodedAway reports whether field was written with content in the file yet is nil after
// decoding: the decoder drops a value with an error inside and has already said what is wrong, so
// "field is required" would be false.
func (v *validator) decodedAway(field string) bool {
	for f := range v.ws.fields {
		if strings.HasPrefix(f, field+".") || strings.HasPrefix(f, field+"[") {
			return true
		}
	}
	return false
}

func (v *validator) hasProblem(field string) bool {
	return slices.ContainsFunc(v.problems, func(p Problem) bool { return p.Field == field })
}

func dnsLabel(s string) string {
	if errs := validation.IsDNS1123Label(s); len(errs) > 0 {
		return fmt.Sprintf("%q is not a valid name: %s", s, strings.Join(errs, "; "))
	}
	return ""
}

func dnsSubdomain(s string) string {
	if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
		return fmt.Sprintf("%q is not a valid name: %s", s, strings.Join(errs, "; "))
	}
	return ""
}

// objectName checks a reference to another object (Secret, ConfigMap): placeholder first, since
// "<your-secret>" is a more useful verdict than "not a DNS name".
func (v *validator) objectName(field, name string) {
	if p := placeholder(name); p != "" {
		v.errorf(field, "%s", placeholderMessage(p))
		return
	}
	v.check(field, dnsSubdomain(name))
}

func (v *validator) metadata() {
	m := v.ws.Metadata
	if m.Name == "" {
		v.errorf("metadata.name", "a name is required")
	} else if p := placeholder(m.Name); p != "" {
		v.errorf("metadata.name", "%s", placeholderMessage(p))
	} else {
		v.check("metadata.name", dnsLabel(m.Name))
	}
	v.check("metadata.namespace", dnsLabel(m.Namespace))
	for k, val := range m.Labels {
		f := childField("metadata.labels", k)
		for _, e := range validation.IsQualifiedName(k) {
			v.errorf(f, "label key %q: %s", k, e)
		}
		for _, e := range validation.IsValidLabelValue(val) {
			v.errorf(f, "label value %q: %s", val, e)
		}
	}
	for k := range m.Annotations {
		for _, e := range validation.IsQualifiedName(strings.ToLower(k)) {
			v.errorf(childField("metadata.annotations", k), "annotation key %q: %s", k, e)
		}
	}
}

func (v *validator) annotations() {
	a := v.ws.Metadata.Annotations
	if r, ok := a[AnnotationRuntime]; ok && r != string(presets.RuntimeVLLM) && r != string(presets.RuntimeTransformers) {
		v.errorf(childField("metadata.annotations", AnnotationRuntime), "runtime %q is not one of vllm, transformers", r)
	}
	if lb, ok := a[AnnotationEnableLB]; ok && lb != "True" && lb != "False" {
		v.warnf(childField("metadata.annotations", AnnotationEnableLB),
			"Kaito only honours the exact value \"True\"; %q is treated as false", lb)
	}
	if pm, ok := a[AnnotationPerformanceMode]; ok && !slices.Contains([]string{"balanced", "interactivity", "throughput"}, pm) {
		v.errorf(childField("metadata.annotations", AnnotationPerformanceMode), "%q is not one of balanced, interactivity, throughput", pm)
	}
	if _, ok := a[AnnotationBypassResources]; ok {
		v.warnf(childField("metadata.annotations", AnnotationBypassResources),
			"GPU memory checks are bypassed: a model that does not fit will fail at run time, not here")
	}
}

func (v *validator) resource() {
	r := v.ws.Resource
	if r.Count != nil && *r.Count < 1 {
		v.errorf("resource.count", "must be at least 1, got %d", *r.Count)
	}
	switch sel := r.LabelSelector; {
	case sel == nil && v.decodedAway("resource.labelSelector"):
		// written but broken: the decoder has said what is wrong inside it
	case sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0):
		v.errorf("resource.labelSelector", "a labelSelector with matchLabels is required: it selects (and labels) the GPU nodes the workspace runs on")
	default:
		v.labelSelector(sel)
	}
	for i, n := range r.PreferredNodes {
		v.check(indexField("resource.preferredNodes", i), dnsSubdomain(n))
	}
	if r.Partition != nil {
		v.partition(r.Partition)
		return
	}
	it := v.ws.InstanceType()
	if it == "" {
		return // v1beta1 without instanceType: bring-your-own nodes, selected by labelSelector
	}
	if p := placeholder(it); p != "" {
		v.errorf("resource.instanceType", "%s", placeholderMessage(p))
		return
	}
	if _, ok := v.cat.SKU(it); !ok {
		msg := fmt.Sprintf("unknown GPU instance type %q", it)
		if !strings.HasPrefix(strings.ToLower(it), "standard_n") {
			msg += " (not an Azure GPU VM size: those start with Standard_N)"
		}
		v.errorf("resource.instanceType", "%s; `kaito-sync skus` lists the known ones", msg)
	}
}

func (v *validator) labelSelector(sel *metav1.LabelSelector) {
	for k, val := range sel.MatchLabels {
		f := childField("resource.labelSelector.matchLabels", k)
		for _, e := range validation.IsQualifiedName(k) {
			v.errorf(f, "label key %q: %s", k, e)
		}
		for _, e := range validation.IsValidLabelValue(val) {
			v.errorf(f, "label value %q: %s", val, e)
		}
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil && len(sel.MatchExpressions) > 0 {
		v.errorf("resource.labelSelector.matchExpressions", "%v", err)
	} else if _, err := metav1.LabelSelectorAsMap(sel); err != nil {
		// Kaito turns the selector into node labels, so it refuses what is not a plain label.
		v.errorf("resource.labelSelector.matchExpressions", "%v: Kaito accepts only matchLabels and In with a single value", err)
	}
}

func (v *validator) partition(p *PartitionSpec) {
	if p.Mode != "mig" && p.Mode != "accelerator" {
		v.errorf("resource.partition.mode", "%q is not one of mig, accelerator", p.Mode)
	}
	if p.Count != nil && *p.Count < 1 {
		v.errorf("resource.partition.count", "must be at least 1, got %d", *p.Count)
	}
	if v.ws.Resource.InstanceType != "" {
		v.errorf("resource.instanceType", "partitioned GPUs are bring-your-own nodes: remove instanceType")
	}
}

// preset checks a preset reference and returns the model it resolves to: a catalog entry, or one
// made for an uncatalogued Hugging Face id (which has no size, so fit checks nothing).
func (v *validator) preset(field string, p *PresetSpec) *presets.Model {
	name := p.Name
	switch {
	case name == "":
		v.errorf(field+".name", "a preset name is required; `kaito-sync presets` lists them")
		return nil
	case placeholder(name) != "":
		v.errorf(field+".name", "%s", placeholderMessage(placeholder(name)))
		return nil
	}
	m, err := v.cat.Resolve(name)
	if err != nil {
		if presets.IsUnknown(err) {
			v.errorf(field+".name", "unknown preset %q%s; `kaito-sync presets` lists them, and any Hugging Face id (org/model) is one", name, v.suggestPreset(name))
		} else {
			// A preset an earlier Kaito release had, or a malformed Hugging Face id.
			v.errorf(field+".name", "%v", err)
		}
		return nil
	}
	if !m.Catalogued {
		if guess := closest(name, catalogIDs(v.cat)); guess != "" {
			v.warnf(field+".name", "%q is not in Kaito %s's catalog, so Kaito will look it up on huggingface.co (did you mean %q?)", name, presets.KaitoVersion, guess)
		}
	}
	if p.AccessMode != "" && p.AccessMode != "public" && p.AccessMode != "private" {
		v.errorf(field+".accessMode", "%q is not one of public, private", p.AccessMode)
	}
	opts := p.PresetOptions
	if opts == nil {
		opts = &PresetOptions{}
	}
	if p.AccessMode == "private" && opts.Image == "" {
		v.errorf(field+".accessMode", "accessMode private needs presetOptions.image: the image Kaito pulls instead of its own")
	}
	if opts.Image != "" {
		v.check(field+".presetOptions.image", checkImage(opts.Image))
	}
	for i, s := range opts.ImagePullSecrets {
		v.objectName(indexField(field+".presetOptions.imagePullSecrets", i), s)
	}
	if opts.ModelAccessSecret != "" {
		v.objectName(field+".presetOptions.modelAccessSecret", opts.ModelAccessSecret)
	} else if m.Gated {
		v.errorf(field, "preset %q is a gated model: set presetOptions.modelAccessSecret to a Secret holding HF_TOKEN", name)
	}
	return &m
}

func catalogIDs(cat *presets.Catalog) []string {
	var ids []string
	for _, m := range cat.Models() {
		ids = append(ids, m.Name)
	}
	return ids
}

func (v *validator) suggestPreset(name string) string {
	var names []string
	for _, m := range v.cat.Models() {
		names = append(names, m.Name)
		names = append(names, m.Aliases...)
	}
	if guess := closest(name, names); guess != "" {
		return fmt.Sprintf(" (did you mean %q?)", guess)
	}
	return ""
}

// fit checks that the chosen SKU holds the model, unless the user bypassed the check.
func (v *validator) fit(m *presets.Model) {
	it := v.ws.InstanceType()
	sku, ok := v.cat.SKU(it)
	if !ok || v.ws.Resource.Partition != nil {
		return
	}
	count := v.ws.NodeCount()
	model := *m
	if v.ws.Tuning != nil {
		// A tuning job runs on one node, whatever the model could do when served.
		count, model.MultiNode = 1, false
	}
	f := v.cat.Fit(model, sku, count, v.maxModelLen)
	if f.Fits {
		return
	}
	msg := f.Reason
	if alts := v.cat.Suggest(model, v.maxModelLen); len(alts) > 0 {
		var names []string
		for _, s := range alts[:min(3, len(alts))] {
			names = append(names, s.Name)
		}
		msg += "; SKUs that fit: " + strings.Join(names, ", ")
	}
	if _, bypass := v.ws.Metadata.Annotations[AnnotationBypassResources]; bypass {
		v.warnf("resource.instanceType", "%s (check bypassed by %s)", msg, AnnotationBypassResources)
		return
	}
	v.errorf("resource.instanceType", "%s", msg)
}

func (v *validator) runtime(m *presets.Model) {
	r, ok := v.ws.Metadata.Annotations[AnnotationRuntime]
	if !ok || v.hasProblem(childField("metadata.annotations", AnnotationRuntime)) {
		return
	}
	if !m.Supports(presets.Runtime(r)) {
		v.errorf(childField("metadata.annotations", AnnotationRuntime), "preset %q does not run on %s in Kaito %s (it supports %s)", v.ws.PresetName(), r, presets.KaitoVersion, joinRuntimes(m.Runtimes()))
	}
}

func joinRuntimes(rs []presets.Runtime) string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

func (v *validator) inference() {
	inf := v.ws.Inference
	switch {
	case inf.Preset != nil && inf.Template != nil:
		v.errorf("inference", "set either preset or template, not both")
	case inf.Preset == nil && inf.Template == nil:
		v.errorf("inference", "a preset (a Kaito model) or a template (your own pod) is required")
	case inf.Preset != nil:
		if m := v.preset("inference.preset", inf.Preset); m != nil {
			v.fit(m)
			v.runtime(m)
		}
	default:
		v.template()
	}
	if inf.Config != "" {
		v.objectName("inference.config", inf.Config)
	}
	v.adapters()
}

func (v *validator) template() {
	t := v.ws.Inference.Template
	if len(t.Spec.Containers) == 0 {
		v.errorf("inference.template.spec.containers", "a template needs at least one container")
	}
	for i, c := range t.Spec.Containers {
		f := indexField("inference.template.spec.containers", i)
		if c.Name == "" {
			v.errorf(f+".name", "a container name is required")
		}
		v.check(f+".image", checkImage(c.Image))
	}
	if len(v.ws.Inference.Adapters) > 0 {
		v.errorf("inference.adapters", "adapters need a preset: a template workspace runs your own server, which loads its own adapters")
	}
}

// maxAdapters is Kaito's limit on adapters per workspace.
const maxAdapters = 10

func (v *validator) adapters() {
	ads := v.ws.Inference.Adapters
	if len(ads) > maxAdapters {
		v.errorf("inference.adapters", "at most %d adapters per workspace, got %d", maxAdapters, len(ads))
	}
	seen := map[string]int{}
	for i, a := range ads {
		f := indexField("inference.adapters", i)
		if a.Source == nil {
			v.errorf(f+".source", "an adapter needs a source with a name and an image or volumeSource")
		} else {
			v.adapterSource(f+".source", a.Source, i, seen)
		}
		if a.Strength != nil {
			v.strength(f+".strength", *a.Strength)
		}
	}
}

func (v *validator) adapterSource(f string, s *DataSource, i int, seen map[string]int) {
	switch {
	case s.Name == "":
		v.errorf(f+".name", "an adapter name is required")
	case placeholder(s.Name) != "":
		v.errorf(f+".name", "%s", placeholderMessage(placeholder(s.Name)))
	case dnsLabel(s.Name) != "":
		v.errorf(f+".name", "%s", dnsLabel(s.Name))
	default:
		if prev, dup := seen[s.Name]; dup {
			v.errorf(f+".name", "adapter name %q is already used by inference.adapters[%d]", s.Name, prev)
		} else {
			seen[s.Name] = i
		}
	}
	if len(s.URLs) > 0 {
		v.errorf(f+".urls", "adapters load from an image or a volumeSource, not urls")
	}
	switch {
	case s.Image != "" && s.Volume != nil:
		v.errorf(f, "set either image or volumeSource, not both")
	case s.Image != "":
		v.check(f+".image", checkDataImage(s.Image))
	case s.Volume == nil && len(s.URLs) == 0:
		v.errorf(f, "an adapter needs an image or a volumeSource")
	}
	for j, ps := range s.ImagePullSecrets {
		v.objectName(indexField(f+".imagePullSecrets", j), ps)
	}
}

func (v *validator) strength(f, s string) {
	if p := placeholder(s); p != "" {
		v.errorf(f, "%s", placeholderMessage(p))
		return
	}
	// Kaito parses the string as it is, so surrounding spaces are an error there too.
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		v.errorf(f, "%q is not a number between 0.0 and 1.0", s)
		return
	}
	if !(x >= 0 && x <= 1) { // also refuses NaN, which ParseFloat accepts
		v.errorf(f, "%s is outside 0.0..1.0", s)
	}
}
