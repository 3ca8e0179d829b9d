package workspaces

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kaito-sync/kaito-sync/internal/crashguard"
	"github.com/kaito-sync/kaito-sync/presets"
)

// Validate judges one workspace as Kaito's admission webhook would, plus the checks Kaito leaves to
// the moment it fails at run time (placeholders, image references, reachable data URLs). It is pure:
// no I/O, no cluster. Problems carry the workspace's file positions.
//
// Both API versions are judged by Kaito v0.12.0's v1beta1 rules: kaito-sync serves them alike.
func Validate(ws *Workspace, cat *presets.Catalog) Problems {
	return validate(ws, cat, nil)
}

// validate also judges the ConfigMap the workspace names in inference.config or tuning.config, when
// one is in the repository (nil otherwise): what Kaito checks in it depends on the workspace (its
// runtime, model and tuning method), and the node estimator sizes the KV cache from its
// max-model-len.
// validateGuarded is validate, with a panic (a bug some field value found) reported as an error
// on the workspace, which then is invalid and keeps what runs, instead of ending the process.
func validateGuarded(ws *Workspace, cat *presets.Catalog, config *Companion) (ps Problems) {
	err := crashguard.Run(func() error {
		ps = validate(ws, cat, config)
		return nil
	})
	if err != nil {
		v := &validator{ws: ws}
		v.errorf("", "%v", err)
		ps = v.problems
	}
	return ps
}

func validate(ws *Workspace, cat *presets.Catalog, config *Companion) Problems {
	v := &validator{ws: ws, cat: cat, config: config}
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
	ws       *Workspace
	cat      *presets.Catalog
	config   *Companion // the ConfigMap of inference.config or tuning.config, when in the repository
	problems Problems

	// sku is the instanceType's entry of the catalog; nil for bring-your-own nodes and unknown sizes.
	sku *presets.SKU
	// runtime is the engine the workspace is served with (inference with a preset).
	runtime presets.Runtime
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

// value judges a string that may have been copied from the docs: invalid is what its own rule says
// about it ("" when it passes). A placeholder in a value that is otherwise valid is a warning (Kaito
// accepts it; it fails, if at all, when it is used); in an invalid one it is the error, since
// "<your-secret>" says more than "not a DNS name". It reports whether the value passed its rule.
func (v *validator) value(field, s, invalid string) bool {
	if p := placeholder(s); p != "" {
		if invalid != "" {
			v.errorf(field, "%s", placeholderMessage(p))
			return false
		}
		v.warnf(field, "%s", placeholderMessage(p))
		return true
	}
	return v.check(field, invalid)
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

func (v *validator) annotation(name string) (string, bool) {
	s, ok := v.ws.Metadata.Annotations[name]
	return s, ok
}

func (v *validator) bypassed() bool {
	_, ok := v.annotation(AnnotationBypassResources)
	return ok
}

func annotationField(name string) string { return childField("metadata.annotations", name) }

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

// objectName checks a reference to another object (Secret, ConfigMap).
func (v *validator) objectName(field, name string) {
	if isSecretNameField(field) {
		v.value(field, name, secretName(name))
		return
	}
	v.value(field, name, dnsSubdomain(name))
}

// secretName judges the name of a Secret without quoting it: people paste the token itself where
// its Secret's name belongs, and the problem goes to logs and the status branch.
func secretName(s string) string {
	errs := validation.IsDNS1123Subdomain(s)
	if len(errs) == 0 {
		return ""
	}
	if LooksLikeCredential(s) {
		return "this looks like a credential, not the name of a Secret (the value is not shown): create a Secret holding it " +
			"in the cluster (kubectl create secret generic hf-token --from-literal=HF_TOKEN=...), give its name here, " +
			"and revoke the token: it is in the repository's history"
	}
	return "not a valid Secret name (the value is not shown: it may be a credential): " + strings.Join(errs, "; ")
}

func (v *validator) metadata() {
	m := v.ws.Metadata
	if m.Name == "" {
		v.errorf("metadata.name", "a name is required")
	} else {
		v.value("metadata.name", m.Name, dnsLabel(m.Name))
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

// annotations checks the annotations Kaito v0.12.0 reads (api/v1beta1/workspace_validation.go,
// validateAnnotations and validateNodeImageFamilyAnnotation; labels.go, GetWorkspaceRuntimeName).
func (v *validator) annotations() {
	if r, ok := v.annotation(AnnotationRuntime); ok && r != string(presets.RuntimeVLLM) && r != string(presets.RuntimeTransformers) {
		v.warnf(annotationField(AnnotationRuntime),
			"runtime %q is not one of vllm, transformers: Kaito runs vLLM for any value but exactly \"transformers\"; write vllm or transformers", r)
	}
	if lb, ok := v.annotation(AnnotationEnableLB); ok && lb != "True" && lb != "False" {
		v.warnf(annotationField(AnnotationEnableLB),
			"Kaito only honours the exact value \"True\"; %q is treated as false", lb)
	}
	if pm, ok := v.annotation(AnnotationPerformanceMode); ok && !slices.Contains([]string{"balanced", "interactivity", "throughput"}, pm) {
		v.errorf(annotationField(AnnotationPerformanceMode), "%q is not one of balanced, interactivity, throughput", pm)
	}
	if lw, ok := v.annotation(AnnotationUseLocalWeights); ok && lw != "true" && lw != "false" {
		v.errorf(annotationField(AnnotationUseLocalWeights), "%q must be \"true\" or \"false\" (lower case)", lw)
	}
	if f, ok := v.annotation(AnnotationNodeImageFamily); ok {
		switch strings.ToLower(strings.TrimSpace(f)) {
		case "ubuntu", "azurelinux":
		default:
			v.errorf(annotationField(AnnotationNodeImageFamily), "unsupported node image family %q: use ubuntu or azurelinux", f)
		}
	}
	if nc, ok := v.annotation(AnnotationNodeClassName); ok && nc != "" {
		v.warnf(annotationField(AnnotationNodeClassName),
			"Kaito accepts only a NodeClass listed in its --karpenter-node-classes (when it provisions with Karpenter), which cannot be checked offline; kaito-sync does not use it")
	}
	if v.bypassed() {
		v.warnf(annotationField(AnnotationBypassResources),
			"GPU memory checks are bypassed: a model that does not fit will fail at run time, not here")
	}
}

func (v *validator) resource() {
	r := v.ws.Resource
	if r.Count != nil && *r.Count < 1 {
		v.warnf("resource.count", "count %d is below 1: Kaito's CRD lets it through, but it means no node; set count to 1 or more, or remove it", *r.Count)
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
	}
}

func (v *validator) labelSelector(sel *metav1.LabelSelector) {
	var own int
	for k, val := range sel.MatchLabels {
		f := childField("resource.labelSelector.matchLabels", k)
		for _, e := range validation.IsQualifiedName(k) {
			v.errorf(f, "label key %q: %s", k, e)
		}
		for _, e := range validation.IsValidLabelValue(val) {
			v.errorf(f, "label value %q: %s", val, e)
		}
		if !reservedSelectorLabels[k] {
			own++
		}
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil && len(sel.MatchExpressions) > 0 {
		v.errorf("resource.labelSelector.matchExpressions", "%v", err)
	} else if _, err := metav1.LabelSelectorAsMap(sel); err != nil {
		// Kaito turns the selector into node labels, so it refuses what is not a plain label.
		v.errorf("resource.labelSelector.matchExpressions", "%v: Kaito accepts only matchLabels and In with a single value", err)
	}
	// Kaito drops the labels it sets on its own nodes from a selector (SanitizedMatchLabels), and
	// refuses a matchLabels of nothing else: it would select every node.
	if len(sel.MatchLabels) > 0 && own == 0 {
		v.errorf("resource.labelSelector.matchLabels",
			"matchLabels must hold at least one label of your own: Kaito reserves %s for the nodes it provisions and ignores them in a selector; add a label of your GPU nodes, e.g. apps: %s",
			joinQuoted(sortedKeys(sel.MatchLabels)), orDefault(v.ws.Metadata.Name, "my-model"))
		return
	}
	for _, k := range sortedKeys(sel.MatchLabels) {
		if reservedSelectorLabels[k] {
			v.warnf(childField("resource.labelSelector.matchLabels", k),
				"Kaito reserves %q for the nodes it provisions and ignores it in a selector: remove it", k)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinQuoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// partition checks resource.partition as Kaito v0.12.0 does (validatePartition and its helpers).
// Kaito also needs its enableMIG or enableAccelerator feature gate, which kaito-sync does not
// judge: it serves the workspace itself.
func (v *validator) partition(p *PartitionSpec) {
	switch p.Mode {
	case PartitionMIG:
		if p.Count != nil {
			v.errorf("resource.partition.count", "count is only valid for accelerator mode: a MIG workload runs on one slice of the profile; remove count")
		}
		switch {
		case p.Profile == "":
			v.errorf("resource.partition", "mig mode needs a profile, e.g. 1g.10gb (one of %s)", strings.Join(migProfiles(), ", "))
		case migProfileGiB(p.Profile) == 0:
			msg := fmt.Sprintf("unknown MIG profile %q: use one of %s", p.Profile, strings.Join(migProfiles(), ", "))
			if guess := closest(p.Profile, migProfiles()); guess != "" {
				msg = fmt.Sprintf("unknown MIG profile %q (did you mean %q?): use one of %s", p.Profile, guess, strings.Join(migProfiles(), ", "))
			}
			v.errorf("resource.partition.profile", "%s", msg)
		}
	case PartitionAccelerator:
		if p.Profile != "" {
			v.errorf("resource.partition.profile", "profile is not valid for accelerator mode (it is a MIG profile): remove it, and set count to the number of whole GPUs")
		}
		switch {
		case p.Count == nil:
			v.errorf("resource.partition", "accelerator mode needs count: the number of whole GPUs the workload gets")
		case *p.Count < 1:
			v.errorf("resource.partition.count", "must be at least 1, got %d", *p.Count)
		}
	default:
		v.errorf("resource.partition.mode", "%q is not one of mig, accelerator", p.Mode)
	}
	if v.ws.Resource.InstanceType != "" {
		v.errorf("resource.instanceType", "partitioned GPUs are bring-your-own nodes: remove instanceType")
	}
}

// instanceType looks the instanceType up in the catalog. Sizes Kaito v0.12.0 does not list are
// refused: Kaito admits any Azure Standard_N*/Standard_D* name without sizing it, but its node
// estimator then fails on it, and kaito-sync cannot place or render a model on GPUs it knows nothing
// of.
func (v *validator) instanceType() {
	it := v.ws.InstanceType()
	if it == "" || v.ws.Resource.Partition != nil {
		return // bring-your-own nodes, selected by labelSelector
	}
	if sku, ok := v.cat.SKU(it); ok {
		v.sku = &sku
		return
	}
	if p := placeholder(it); p != "" {
		v.errorf("resource.instanceType", "%s", placeholderMessage(p))
		return
	}
	msg := fmt.Sprintf("unknown GPU instance type %q", it)
	switch lower := strings.ToLower(it); {
	case strings.HasPrefix(lower, "standard_d"):
		msg += " (a Standard_D size has no GPU)"
	case strings.HasPrefix(lower, "standard_n"):
		msg += fmt.Sprintf(" (not in Kaito %s's SKU table: its node estimator cannot size it, nor can kaito-sync)", presets.KaitoVersion)
	default:
		msg += " (not an Azure GPU VM size: those start with Standard_N)"
	}
	if guess := closest(it, skuNames(v.cat)); guess != "" {
		msg += fmt.Sprintf("; did you mean %q?", guess)
	}
	v.errorf("resource.instanceType", "%s; `kaito-sync skus` lists the known ones", msg)
}

func skuNames(cat *presets.Catalog) []string {
	var names []string
	for _, s := range cat.SKUs() {
		names = append(names, s.Name)
	}
	return names
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
	opts := p.PresetOptions
	if opts == nil {
		opts = &PresetOptions{}
	}
	// accessMode and presetOptions.image are deprecated in v1beta1 and read by nothing in Kaito
	// v0.12.0: every preset runs Kaito's base image, which downloads the weights.
	switch p.AccessMode {
	case "", "public":
	case "private":
		v.warnf(field+".accessMode", "accessMode is deprecated and ignored by Kaito %s: every preset runs Kaito's base image, which downloads the weights; remove it", presets.KaitoVersion)
	default:
		v.errorf(field+".accessMode", "%q is not one of public, private", p.AccessMode)
	}
	if opts.Image != "" {
		v.warnf(field+".presetOptions.image", "presetOptions.image is ignored by Kaito %s: every preset runs Kaito's base image, which downloads the weights; remove it", presets.KaitoVersion)
	}
	for i, s := range opts.ImagePullSecrets {
		v.objectName(indexField(field+".presetOptions.imagePullSecrets", i), s)
	}
	if opts.ModelAccessSecret != "" {
		v.objectName(field+".presetOptions.modelAccessSecret", opts.ModelAccessSecret)
	} else if m.Gated {
		// Kaito v0.12.0 asks for the secret only when huggingface.co refused it a live lookup; a
		// catalogued gated model is admitted without one and fails to download.
		v.warnf(field, "preset %q is a gated model on Hugging Face: without presetOptions.modelAccessSecret (a Secret with key HF_TOKEN) its download fails when the pod starts; set it", name)
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

func (v *validator) inference() {
	inf := v.ws.Inference
	switch {
	case inf.Preset != nil && inf.Template != nil:
		v.errorf("inference", "set either preset or template, not both")
		v.instanceType()
	case inf.Preset == nil && inf.Template == nil:
		v.errorf("inference", "a preset (a Kaito model) or a template (your own pod) is required")
		v.instanceType()
	case inf.Preset != nil:
		// Kaito judges no resource against a preset it cannot resolve.
		if m := v.preset("inference.preset", inf.Preset); m != nil {
			v.instanceType()
			v.chooseRuntime(m)
			v.inferenceConfig(m)
			v.sizing(m)
			v.adapterRuntime()
		} else {
			v.inferenceConfig(nil)
		}
	default:
		v.instanceType()
		v.template()
		v.inferenceConfig(nil)
	}
	if inf.Config != "" {
		v.objectName("inference.config", inf.Config)
	}
	v.adapters()
}

func (v *validator) template() {
	t := v.ws.Inference.Template
	// Kaito's CRD does not look inside the template, but the Kubernetes API server refuses the
	// workload kaito-sync makes of it without these.
	if len(t.Spec.Containers) == 0 {
		v.errorf("inference.template.spec.containers", "a template needs at least one container")
	}
	for i, c := range t.Spec.Containers {
		f := indexField("inference.template.spec.containers", i)
		if c.Name == "" {
			v.errorf(f+".name", "a container name is required")
		}
		if c.Image == "" {
			v.errorf(f+".image", "an image reference is required")
			continue
		}
		// Only the node pulling it judges an image reference: a bad one is a pod that never starts.
		v.image(f+".image", c.Image, false, Warning)
	}
	if len(v.ws.Inference.Adapters) > 0 {
		v.warnf("inference.adapters", "adapters are loaded only into a preset's server: with a template they are ignored; remove them and load them in your own server")
	}
}

// maxAdapters is Kaito's limit on adapters per workspace.
const maxAdapters = 10

// adapters checks the adapters with the rules Kaito applies to them on every update
// (validateCreateorUpdate), at create too: kaito-sync applies a workspace again and again.
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

// adapterRuntime applies Kaito's runtime rule for adapters (pkg/model/interface.go,
// PresetParam.Validate): vLLM loads LoRA adapters at full strength only.
func (v *validator) adapterRuntime() {
	if v.runtime != presets.RuntimeVLLM {
		return
	}
	for i, a := range v.ws.Inference.Adapters {
		if a.Strength != nil {
			v.errorf(indexField("inference.adapters", i)+".strength",
				"vLLM does not support adapter strength: remove strength or set %s: transformers", AnnotationRuntime)
		}
	}
}

func (v *validator) adapterSource(f string, s *DataSource, i int, seen map[string]int) {
	switch {
	case s.Name == "":
		v.errorf(f+".name", "an adapter name is required")
	// A DNS label, stricter than Kaito's subdomain: the name becomes part of container and volume
	// names.
	case !v.value(f+".name", s.Name, dnsLabel(s.Name)):
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
		v.image(f+".image", s.Image, true, Error)
	case s.Volume == nil && len(s.URLs) == 0:
		v.errorf(f, "an adapter needs an image or a volumeSource")
	}
	for j, ps := range s.ImagePullSecrets {
		v.objectName(indexField(f+".imagePullSecrets", j), ps)
	}
}

func (v *validator) strength(f, s string) {
	// Kaito parses the string as it is, so surrounding spaces are an error there too.
	x, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		v.value(f, s, fmt.Sprintf("%q is not a number between 0.0 and 1.0", s))
	case !(x >= 0 && x <= 1): // also refuses NaN, which ParseFloat accepts
		v.value(f, s, fmt.Sprintf("%s is outside 0.0..1.0", s))
	}
}

// image judges an image reference: a broken one is reported with severity sev (an error where a
// pod of kaito-sync's would never start on it). data marks the images of adapters and tuning data,
// where an image without a registry or a tag is worth a warning.
func (v *validator) image(field, s string, data bool, sev Severity) {
	const hint = " (an image reference such as myregistry.azurecr.io/adapter-phi3:0.0.1)"
	invalid := imageSyntax(s)
	if p := placeholder(s); p != "" {
		if invalid != "" {
			v.add(sev, field, "%s%s", placeholderMessage(p), hint)
		} else {
			v.warnf(field, "%s%s", placeholderMessage(p), hint)
		}
		return
	}
	if invalid != "" {
		v.add(sev, field, "%s", invalid)
		return
	}
	if data {
		if msg := dataImageShape(s); msg != "" {
			v.warnf(field, "%s", msg)
		}
	}
}

// CheckDefaultNamespace checks a --default-namespace value: it becomes the namespace of every
// object that names none, so it must be a namespace name (a DNS label).
func CheckDefaultNamespace(ns string) error {
	if ns == "" {
		return fmt.Errorf("--default-namespace is empty: give a namespace name such as %q", DefaultOptions().DefaultNamespace)
	}
	if msg := dnsLabel(ns); msg != "" {
		return fmt.Errorf("--default-namespace %s (a namespace name is lower-case letters, digits and '-', at most 63)", msg)
	}
	return nil
}
