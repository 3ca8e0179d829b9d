package workspaces

import (
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/kaito-sync/kaito-sync/presets"
)

// Keys of the ConfigMaps Kaito reads.
const (
	InferenceConfigKey = "inference_config.yaml"
	TuningConfigKey    = "training_config.yaml"
)

// CheckOptions tell Check what exists outside the repository.
type CheckOptions struct {
	// KnownConfigMaps are "namespace/name" of ConfigMaps known to exist in the cluster; a reference
	// to one of them is not warned about.
	KnownConfigMaps []string
	// Namespaces is where the set's objects may go; a workspace or companion elsewhere is an error.
	Namespaces NamespacePolicy
}

// Check validates every workspace of the set against the catalog and checks what spans objects:
// references from workspaces to their companions, the companions' contents, and names declared twice.
// It appends to s.Problems.
func Check(s *Set, cat *presets.Catalog, opts CheckOptions) {
	byKey := map[string]*Companion{}
	for _, c := range s.Companions {
		byKey[c.Key()] = c
	}
	checked := map[*Companion]bool{}
	for _, ws := range s.Workspaces {
		var config *Companion
		for _, ref := range references(ws) {
			key := ref.kind + "/" + ws.Metadata.Namespace + "/" + ref.name
			c := byKey[key]
			if c == nil && ref.kaitoDefault {
				// Shared by the namespace's tuning workspaces, as Kaito's copy is: applied with
				// the first of them (Owners).
				c = &Companion{Kind: ref.kind, Namespace: ws.Metadata.Namespace, Name: ref.name, KaitoDefault: true}
				s.Companions = append(s.Companions, c)
				byKey[key] = c
			}
			if c == nil {
				s.Problems = append(s.Problems, missingReference(s, ws, ref, opts)...)
				continue
			}
			if !slices.Contains(c.Owners, ws.Key()) {
				c.Owners = append(c.Owners, ws.Key())
			}
			if ref.configKey != "" && !c.KaitoDefault {
				config = c
				if !checked[c] {
					checked[c] = true
					s.Problems = append(s.Problems, checkConfig(c, ref.configKey)...)
				}
			}
		}
		s.Problems = append(s.Problems, validateGuarded(ws, cat, config)...)
	}
	for _, c := range s.Companions {
		if len(c.Owners) == 0 {
			s.Problems = append(s.Problems, companionProblem(c, Warning, "",
				"%s %s is not referenced by any workspace in this folder: it is applied only with a workspace that uses it", c.Kind, c.Name))
		}
		slices.Sort(c.Owners)
	}
	checkNamespaces(s, opts.Namespaces)
	s.Problems.maskCredentials()
	s.Problems.Sort()
	s.companionIndex = indexCompanions(s.Companions)
}

func companionProblem(c *Companion, sev Severity, field, format string, args ...any) Problem {
	at := c.Locate(field)
	return Problem{Severity: sev, Path: at.Path, Line: at.Line, Col: at.Col, Workspace: c.Key(),
		Field: field, Message: fmt.Sprintf(format, args...)}
}

// reference is a workspace field naming another object.
type reference struct {
	kind, name, field string
	configKey         string // for ConfigMaps: the key Kaito reads
	// kaitoDefault: the ConfigMap Kaito copies into the namespace when the workspace names none;
	// when the repository does not declare one of that name, Check adds it (Companion.KaitoDefault).
	kaitoDefault bool
}

// DefaultTuningConfig is the ConfigMap a tuning workspace that names no tuning.config is trained
// with: Kaito copies "<method>-params-template" from its release namespace into the workspace's.
// "" for an unknown method.
func DefaultTuningConfig(method string) string {
	switch method {
	case MethodLoRA, MethodQLoRA:
		return method + "-params-template"
	}
	return ""
}

func references(ws *Workspace) []reference {
	var refs []reference
	pvc := func(field string, vs *corev1.VolumeSource) {
		if vs != nil && vs.PersistentVolumeClaim != nil && vs.PersistentVolumeClaim.ClaimName != "" {
			refs = append(refs, reference{kind: "PersistentVolumeClaim", name: vs.PersistentVolumeClaim.ClaimName,
				field: field + ".persistentVolumeClaim.claimName"})
		}
	}
	secret := func(field, name string) {
		if name != "" {
			refs = append(refs, reference{kind: "Secret", name: name, field: field})
		}
	}
	preset := func(field string, p *PresetSpec) {
		if p != nil && p.PresetOptions != nil {
			secret(field+".presetOptions.modelAccessSecret", p.PresetOptions.ModelAccessSecret)
			for i, s := range p.PresetOptions.ImagePullSecrets {
				secret(indexField(field+".presetOptions.imagePullSecrets", i), s)
			}
		}
	}
	if inf := ws.Inference; inf != nil {
		if inf.Config != "" {
			refs = append(refs, reference{kind: "ConfigMap", name: inf.Config, field: "inference.config", configKey: InferenceConfigKey})
		}
		preset("inference.preset", inf.Preset)
		for i, a := range inf.Adapters {
			if a.Source != nil {
				pvc(indexField("inference.adapters", i)+".source.volumeSource", a.Source.Volume)
			}
		}
		if inf.Template != nil {
			for i, vol := range inf.Template.Spec.Volumes {
				pvc(indexField("inference.template.spec.volumes", i), &vol.VolumeSource)
			}
		}
	}
	if t := ws.Tuning; t != nil {
		if t.Config != "" {
			refs = append(refs, reference{kind: "ConfigMap", name: t.Config, field: "tuning.config", configKey: TuningConfigKey})
		} else if name := DefaultTuningConfig(t.Method); name != "" {
			refs = append(refs, reference{kind: "ConfigMap", name: name, field: "tuning.method", configKey: TuningConfigKey, kaitoDefault: true})
		}
		preset("tuning.preset", t.Preset)
		if t.Input != nil {
			pvc("tuning.input.volumeSource", t.Input.Volume)
			for i, s := range t.Input.ImagePullSecrets {
				secret(indexField("tuning.input.imagePullSecrets", i), s)
			}
		}
		if t.Output != nil {
			pvc("tuning.output.volumeSource", t.Output.Volume)
			secret("tuning.output.imagePushSecret", t.Output.ImagePushSecret)
		}
	}
	return refs
}

// CompanionsOf are the set's companions that ws references (References), in reference order: what
// render is given with it. After Check, they include Kaito's default tuning config. It is safe for
// concurrent use once Check has run.
func (s *Set) CompanionsOf(ws *Workspace) []*Companion {
	byKey := s.companionIndex
	if len(byKey) != len(s.Companions) { // before Check, or companions added since
		byKey = indexCompanions(s.Companions)
	}
	var out []*Companion
	for _, ref := range References(ws) {
		if c := byKey[ref]; c != nil {
			out = append(out, c)
		}
	}
	return out
}

func indexCompanions(cs []*Companion) map[string]*Companion {
	byKey := make(map[string]*Companion, len(cs))
	for _, c := range cs {
		byKey[c.Key()] = c
	}
	return byKey
}

// Declared are the workspaces Git still declares, by key, valid or not: those decoded, and those
// named only by an error (a document that did not decode, an unsupported apiVersion). anonymous
// reports an error in a document that could not be tied to any workspace: it could declare any
// of them. Prune decisions (the sync's and plan's) start here.
func (s *Set) Declared() (declared map[string]bool, anonymous bool) {
	declared = make(map[string]bool, len(s.Workspaces))
	for _, ws := range s.Workspaces {
		declared[ws.Key()] = true
	}
	for _, p := range s.Problems {
		switch {
		case p.Severity != Error:
		case p.Workspace == "":
			anonymous = true
		case IsWorkspaceKey(p.Workspace):
			declared[p.Workspace] = true
		}
	}
	return declared, anonymous
}

// Counts are the set's valid and invalid workspaces, as every summary says them (validate's and a
// sync's). Invalid counts the workspaces that failed validation, those declared only in a document
// that did not decode (named by a problem), and each file with an error tied to no workspace: a
// file that does not parse declares at least one workspace nobody can read.
func (s *Set) Counts() (valid, invalid int) {
	valid = len(s.Valid())
	declared, _ := s.Declared()
	anonymous := map[string]bool{}
	for _, p := range s.Problems {
		if p.Severity == Error && p.Workspace == "" {
			anonymous[p.Path] = true
		}
	}
	return valid, len(declared) - valid + len(anonymous)
}

// IsWorkspaceKey tells a workspace's key ("namespace/name") from a companion's or another
// object's problem key ("Kind/namespace/name").
func IsWorkspaceKey(k string) bool { return strings.Count(k, "/") == 1 }

// References lists the companions a workspace uses, as "Kind/namespace/name".
func References(ws *Workspace) []string {
	var out []string
	for _, r := range references(ws) {
		out = append(out, r.kind+"/"+ws.Metadata.Namespace+"/"+r.name)
	}
	return out
}

// missingReference warns about a ConfigMap that is neither in the repository nor known to exist.
// PVCs and Secrets are commonly created outside Git, so their absence says nothing.
func missingReference(s *Set, ws *Workspace, ref reference, opts CheckOptions) Problems {
	if ref.kind != "ConfigMap" || slices.Contains(opts.KnownConfigMaps, ws.Metadata.Namespace+"/"+ref.name) {
		return nil
	}
	msg := fmt.Sprintf("ConfigMap %q is not in the repository: it must already exist in namespace %s", ref.name, ws.Metadata.Namespace)
	for _, c := range s.Companions {
		if c.Kind == "ConfigMap" && c.Name == ref.name {
			msg += fmt.Sprintf(" (one with this name is declared at %s, in namespace %s)", c.Source, c.Namespace)
			break
		}
	}
	at := ws.Locate(ref.field)
	return Problems{{Severity: Warning, Path: at.Path, Line: at.Line, Col: at.Col, Workspace: ws.Key(), Field: ref.field, Message: msg}}
}

// checkConfig checks what Kaito reads of a referenced ConfigMap whatever the workspace: the key,
// YAML, and for tuning a training_config: map. What depends on the workspace (its runtime, model and
// method) is validate's.
func checkConfig(c *Companion, key string) Problems {
	cm, ok := c.Object.(*corev1.ConfigMap)
	if !ok {
		return nil
	}
	field := childField("data", key)
	text, ok := cm.Data[key]
	if !ok {
		return Problems{companionProblem(c, Error, "data", "ConfigMap %s is used as a Kaito config but has no %q key", c.Name, key)}
	}
	// Decode into any: a document that is valid YAML but not a mapping (a list, a sentence) is
	// reported below as lacking the section, not as a type error that calls it invalid YAML.
	var raw any
	if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
		p := companionProblem(c, Error, field, "%s is not valid YAML: %s", key, strings.TrimPrefix(err.Error(), "yaml: "))
		if line, _, msg := yamlErrorPos([]byte(text), err); line > 0 {
			// Block scalars start on the line after their key.
			p.Line, p.Col, p.Message = p.Line+line, 1, fmt.Sprintf("%s is not valid YAML: %s", key, msg)
		}
		return Problems{p}
	}
	if key != TuningConfigKey {
		return nil
	}
	doc, _ := raw.(map[string]any)
	if _, ok := doc["training_config"].(map[string]any); !ok {
		return Problems{companionProblem(c, Error, field, "%s needs a %q map of settings", key, "training_config:")}
	}
	return nil
}

// checkDuplicates reports any object declared more than once: one problem at each declaration after
// the first, naming the first. Which of them is meant is unknowable, so all are invalid (the
// problems carry the object's key, so neither copy is applied nor pruned).
func (s *Set) checkDuplicates() {
	var keys []string
	places := map[string][]Pos{}
	who := map[string]string{}
	add := func(key, owner string, at Pos) {
		if places[key] == nil {
			keys = append(keys, key)
		}
		places[key] = append(places[key], at)
		who[key] = owner
	}
	for _, ws := range s.Workspaces {
		if ws.Metadata.Name != "" {
			add("Workspace "+ws.Key(), ws.Key(), ws.Source)
		}
	}
	for _, c := range s.Companions {
		if c.Name != "" {
			add(c.Kind+" "+c.Namespace+"/"+c.Name, c.Key(), c.Source)
		}
	}
	for _, key := range keys {
		at := places[key]
		if len(at) < 2 {
			continue
		}
		times := "twice"
		if len(at) > 2 {
			times = fmt.Sprintf("%d times", len(at))
		}
		for _, dup := range at[1:] {
			s.Problems = append(s.Problems, Problem{Severity: Error, Path: dup.Path, Line: dup.Line, Col: dup.Col,
				Workspace: who[key], Field: "metadata.name",
				Message: fmt.Sprintf("%s is declared %s: here and first at %s", key, times, at[0])})
		}
	}
}

// Valid returns the workspaces with no error, in themselves or in a companion they use: those
// kaito-sync may render and apply.
func (s *Set) Valid() []*Workspace {
	bad := map[string]bool{}
	for _, p := range s.Problems {
		if p.Severity == Error && p.Workspace != "" {
			bad[p.Workspace] = true
		}
	}
	var out []*Workspace
	for _, ws := range s.Workspaces {
		if ws.Metadata.Name == "" || bad[ws.Key()] || slices.ContainsFunc(References(ws), func(r string) bool { return bad[r] }) {
			continue
		}
		out = append(out, ws)
	}
	return out
}

// ProblemsFor returns the problems of one workspace (or companion) key.
func (s *Set) ProblemsFor(key string) Problems {
	var out Problems
	for _, p := range s.Problems {
		if p.Workspace == key {
			out = append(out, p)
		}
	}
	return out
}
