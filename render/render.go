// Package render turns a validated workspace into the Kubernetes objects Kaito would create for it,
// through a Kustomize overlay: a shared base per preset family and runtime (bases/<base>/) and an
// overlay per workspace (<namespace>/<name>/) that renames the base objects to the workspace and
// sets what is its own. The overlay is built in memory with Kustomize's krusty; written to disk, the
// same files give the same objects with the standard `kustomize build <namespace>/<name>`.
//
// Rendering is a pure function of the workspace, its companions, the catalog entries it uses and the
// renderer version: the same input gives the same bytes. Results are cached by a hash of that input.
package render

import (
	"bufio"
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/internal/crashguard"
	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// Version is the renderer's output version. Bump it whenever the objects rendered for an unchanged
// workspace change, so that caches keyed by the render hash are invalidated.
const Version = "2"

// Source is where a workspace was read from, for the source annotations. Empty fields are left out.
type Source struct{ Path, Commit string }

// Result is one rendered workspace.
type Result struct {
	// Key is "namespace/name".
	Key string
	// Hash is the content hash of everything the objects are made of except Source: the workspace,
	// its companions, the catalog entries it uses and the renderer version. The cache is keyed by it.
	Hash string
	// Overlay holds the Kustomize files, by path relative to an output folder:
	// "bases/<base>/..." and "<namespace>/<name>/...". `kustomize build <folder>/<namespace>/<name>`
	// gives Objects.
	Overlay map[string][]byte
	// Objects are the built objects in apply order: ConfigMaps, Secrets, PersistentVolumeClaims,
	// Services, then the workload. Namespaces are not rendered; creating them is the applier's job.
	Objects []*unstructured.Unstructured
}

// OverlayDir is the folder of the workspace's overlay inside Overlay.
func (r *Result) OverlayDir() string { return r.Key }

// Renderer renders workspaces against a catalog and caches the results. It is safe for concurrent use.
type Renderer struct {
	cat  *presets.Catalog
	opts Options

	builds atomic.Int64 // krusty runs, for tests

	mu     sync.Mutex
	cache  map[string]*list.Element // hash → element of lru holding *entry
	lru    *list.List               // most recently used first
	shapes map[string]*list.Element // shape hash → element of shapeLRU holding *shapeEntry
	// shapeLRU holds krusty's builds by shape (see shape.go), most recently used first.
	shapeLRU *list.List
	max      int
}

// shapeEntry is krusty's build of a workspace shape: objects named with the sentinels.
type shapeEntry struct {
	hash    string
	objects []*unstructured.Unstructured
	// safe is orderSafe(objects): renamed copies are in krusty's order. An unsafe shape is only
	// remembered so that its workspaces are built directly without trying again.
	safe bool
}

// DefaultCacheSize bounds the render cache, in workspaces. The least recently rendered are dropped.
const DefaultCacheSize = 4096

// New returns a Renderer for the catalog that renders what Kaito's operator creates (KaitoDefaults).
func New(cat *presets.Catalog) *Renderer { return NewWithOptions(cat, KaitoDefaults) }

// NewWithOptions returns a Renderer for the catalog with opts.
func NewWithOptions(cat *presets.Catalog, opts Options) *Renderer {
	return &Renderer{cat: cat, opts: opts, cache: map[string]*list.Element{}, lru: list.New(),
		shapes: map[string]*list.Element{}, shapeLRU: list.New(), max: DefaultCacheSize}
}

// entry is a cached render: everything that does not depend on Source, and the objects as built.
type entry struct {
	hash  string
	dir   string            // "<namespace>/<name>"
	files map[string][]byte // the overlay without kustomization.yaml and source.yaml
	// kustomization.yaml with and without the source transformer
	kustWithSource, kustNoSource []byte
	objects                      []*unstructured.Unstructured // as built with some Source; restamped on the way out
	// shape, when set, stands for objects: they are its build renamed to name and namespace,
	// renamed again on the way out instead of kept, so a fleet of one shape holds one build.
	shape         *shapeEntry
	name, namespc string
	// planned entries have the overlay files; those made by Objects may not.
	planned bool
}

// copies returns objects the caller owns: deep copies of objects, or a renamed shape.
func (e *entry) copies() []*unstructured.Unstructured {
	if e.shape != nil {
		return rename(e.shape.objects, e.name, e.namespc)
	}
	out := make([]*unstructured.Unstructured, len(e.objects))
	for i, o := range e.objects {
		out[i] = o.DeepCopy()
	}
	return out
}

// Render renders one workspace. companions are those the workspace references (see
// workspaces.References); a companion shared by several workspaces (Owners, filled by
// workspaces.Check) is rendered only with the first of them, so exactly one workspace applies it.
// The workspace must be valid: Render does not repeat the validator's checks, but it fails rather
// than render something Kaito would not.
func (r *Renderer) Render(ws *workspaces.Workspace, companions []*workspaces.Companion, src Source) (*Result, error) {
	return r.wrap(ws, companions, src, true)
}

// Objects is Render without Result.Overlay. A sync applies the objects and never reads the
// overlay, whose files (YAML patches) cost more to write than a renamed copy of a shape's build:
// without them a workspace of a known shape needs no plan at all.
func (r *Renderer) Objects(ws *workspaces.Workspace, companions []*workspaces.Companion, src Source) (*Result, error) {
	return r.wrap(ws, companions, src, false)
}

// wrap names the workspace in a render's error. A panic while rendering (a bug some workspace
// found) is that workspace's render error: it keeps what runs, and the others render on.
func (r *Renderer) wrap(ws *workspaces.Workspace, companions []*workspaces.Companion, src Source, overlay bool) (*Result, error) {
	var res *Result
	err := crashguard.Run(func() (err error) {
		res, err = r.render(ws, companions, src, overlay)
		return err
	})
	if err != nil {
		key := "?"
		if ws != nil {
			key = ws.Key()
		}
		return nil, fmt.Errorf("workspace %s: render failed: %w", key, err)
	}
	return res, nil
}

// Hash is the content hash Render would give the workspace (Result.Hash), computed without
// building anything: equal hashes mean equal objects up to the Source annotations. plan uses it
// to skip rendering workspaces a change does not touch.
func (r *Renderer) Hash(ws *workspaces.Workspace, companions []*workspaces.Companion) (string, error) {
	if ws == nil {
		return "", errors.New("no workspace")
	}
	var hash string
	err := crashguard.Run(func() error {
		in, err := newInput(r.cat, r.opts, ws, companions)
		if err != nil {
			return err
		}
		hash, err = in.hash()
		return err
	})
	return hash, err
}

func (r *Renderer) render(ws *workspaces.Workspace, companions []*workspaces.Companion, src Source, overlay bool) (*Result, error) {
	if ws == nil {
		return nil, errors.New("no workspace")
	}
	in, err := newInput(r.cat, r.opts, ws, companions)
	if err != nil {
		return nil, err
	}
	material, err := in.material()
	if err != nil {
		return nil, err
	}
	hash := digest(material)
	e := r.lookup(hash)
	if e == nil || overlay && !e.planned {
		ne := &entry{}
		if overlay {
			if ne, err = in.plan(); err != nil {
				return nil, err
			}
		}
		ne.hash = hash
		if e != nil { // built by Objects: only the files were missing
			ne.objects, ne.shape, ne.name, ne.namespc = e.objects, e.shape, e.name, e.namespc
		} else if err := r.buildObjects(in, material, ne, src); err != nil {
			return nil, err
		}
		r.store(ne)
		e = ne
	}
	return e.result(ws.Key(), src, overlay)
}

// buildObjects fills e.objects: a renamed copy of its shape's build when that is exact (shape.go),
// else krusty's build of e's own overlay.
func (r *Renderer) buildObjects(in *input, material []byte, e *entry, src Source) error {
	direct := func() error {
		if !e.planned {
			p, err := in.plan()
			if err != nil {
				return err
			}
			e.dir, e.files, e.kustWithSource, e.kustNoSource, e.planned = p.dir, p.files, p.kustWithSource, p.kustNoSource, true
		}
		r.builds.Add(1)
		return e.build(src)
	}
	sin := in.shape(material)
	if sin == nil {
		return direct()
	}
	smat, err := sin.material()
	if err != nil {
		return direct()
	}
	shash := digest(smat)
	s := r.lookupShape(shash)
	if s == nil {
		se, err := sin.plan()
		if err != nil {
			return direct() // for the error message, which then names the workspace
		}
		r.builds.Add(1)
		if err := se.build(Source{}); err != nil {
			return direct()
		}
		s = &shapeEntry{hash: shash, objects: se.objects, safe: orderSafe(se.objects)}
		r.storeShape(s)
	}
	if !s.safe {
		return direct()
	}
	e.shape, e.name, e.namespc = s, in.ws.Metadata.Name, in.ws.Metadata.Namespace
	return nil
}

func (r *Renderer) lookupShape(hash string) *shapeEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.shapes[hash]
	if !ok {
		return nil
	}
	r.shapeLRU.MoveToFront(el)
	return el.Value.(*shapeEntry)
}

func (r *Renderer) storeShape(s *shapeEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.shapes[s.hash]; ok {
		r.shapeLRU.MoveToFront(el)
		return
	}
	r.shapes[s.hash] = r.shapeLRU.PushFront(s)
	for r.shapeLRU.Len() > r.max {
		old := r.shapeLRU.Remove(r.shapeLRU.Back()).(*shapeEntry)
		delete(r.shapes, old.hash)
	}
}

func (r *Renderer) lookup(hash string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.cache[hash]
	if !ok {
		return nil
	}
	r.lru.MoveToFront(el)
	return el.Value.(*entry)
}

func (r *Renderer) store(e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.cache[e.hash]; ok { // rendered concurrently by another caller: keep one
		if e.planned && !el.Value.(*entry).planned { // the same objects, now with the files
			el.Value = e
		}
		r.lru.MoveToFront(el)
		return
	}
	r.cache[e.hash] = r.lru.PushFront(e)
	for r.lru.Len() > r.max {
		old := r.lru.Remove(r.lru.Back()).(*entry)
		delete(r.cache, old.hash)
	}
}

// CacheLen is the number of cached renders.
func (r *Renderer) CacheLen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lru.Len()
}

// hash covers all that the render reads, except the source annotations.
func (in *input) hash() (string, error) {
	b, err := in.material()
	if err != nil {
		return "", err
	}
	return digest(b), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// material is what hash hashes.
func (in *input) material() ([]byte, error) {
	ws := *in.ws
	ws.Status = nil // written by Kaito, never rendered
	type companion struct {
		Kind, Namespace, Name string
		Owners                []string
		Object                any
	}
	var comps []companion
	for _, c := range in.companions {
		comps = append(comps, companion{c.Kind, c.Namespace, c.Name, c.Owners, c.Object})
	}
	material := struct {
		Version    string
		Payload    string
		Options    Options
		Release    presets.Release
		Workspace  workspaces.Workspace
		Companions []companion
		Model      *presets.Model
		SKU        *presets.SKU
	}{Version, payloadDigest(), in.opts, in.release, ws, comps, in.model, in.sku}
	return json.Marshal(material)
}

// payloadDigest hashes the scripts and configs taken from Kaito (kaito/), so that replacing them
// invalidates cached renders even without a Version bump.
var payloadDigest = sync.OnceValue(func() string {
	h := sha256.New()
	for _, s := range []string{pullerScript, pusherScript, dataDownloaderScript, loraParams, qloraParams} {
		fmt.Fprintf(h, "%d\n%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
})

// sourceAnnotations are the annotations Source stands for.
func sourceAnnotations(src Source) map[string]string {
	a := map[string]string{}
	if src.Path != "" {
		a[ownership.AnnotationSourcePath] = src.Path
	}
	if src.Commit != "" {
		a[ownership.AnnotationSourceCommit] = src.Commit
	}
	return a
}

// sourceFile is the transformer that sets the source annotations on every object's metadata. It is
// written by hand, not by the YAML encoder, because it is made on every render, cache hits
// included; the values are JSON strings, which YAML reads as double-quoted scalars.
func sourceFile(src Source) []byte {
	var b bytes.Buffer
	b.WriteString(`# Where this workspace was declared. Set on the metadata of every object only: pod templates
# are left alone, so a new commit restarts no pod.
apiVersion: builtin
kind: AnnotationsTransformer
metadata:
  name: source
annotations:
`)
	ann := sourceAnnotations(src)
	for _, k := range sortedKeys(ann) {
		v, _ := json.Marshal(ann[k])
		fmt.Fprintf(&b, "  %s: %s\n", k, v)
	}
	b.WriteString(`fieldSpecs:
  - path: metadata/annotations
    create: true
`)
	return b.Bytes()
}

// overlayFiles returns every file of the overlay for src, by path relative to the output folder.
func (e *entry) overlayFiles(src Source) map[string][]byte {
	out := make(map[string][]byte, len(e.files)+2)
	for p, b := range e.files {
		out[p] = b
	}
	if len(sourceAnnotations(src)) > 0 {
		out[path.Join(e.dir, "kustomization.yaml")] = e.kustWithSource
		out[path.Join(e.dir, sourceFileName)] = sourceFile(src)
	} else {
		out[path.Join(e.dir, "kustomization.yaml")] = e.kustNoSource
	}
	return out
}

// build runs krusty over the overlay on an in-memory filesystem.
func (e *entry) build(src Source) error {
	files := e.overlayFiles(src)
	fs := filesys.MakeFsInMemory()
	for p, b := range files {
		if err := fs.WriteFile("/"+p, b); err != nil {
			return err
		}
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified // the kustomization sets sortOptions
	k := krusty.MakeKustomizer(opts)
	m, err := k.Run(fs, "/"+e.dir)
	if err != nil {
		return fmt.Errorf("kustomize build %s: %w", e.dir, err)
	}
	// Each resource's JSON straight into an object: m.AsYaml() and decoding that back cost a
	// third of a build, for the same objects (TestGolden and the kustomize CLI tests compare).
	res := m.Resources()
	e.objects = make([]*unstructured.Unstructured, 0, len(res))
	for _, r := range res {
		j, err := r.MarshalJSON()
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return err
		}
		e.objects = append(e.objects, u)
	}
	return nil
}

// decodeObjects reads a multi-document YAML stream into objects, in order.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if string(j) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
}

// result hands out a copy of the cached render with src's annotations stamped on, exactly as the
// source transformer in the overlay sets them.
func (e *entry) result(key string, src Source, overlay bool) (*Result, error) {
	var files map[string][]byte
	if overlay {
		files = e.overlayFiles(src)
	}
	ann := sourceAnnotations(src)
	objs := e.copies()
	for _, c := range objs {
		a := c.GetAnnotations()
		for _, k := range []string{ownership.AnnotationSourcePath, ownership.AnnotationSourceCommit} {
			if v, ok := ann[k]; ok {
				if a == nil {
					a = map[string]string{}
				}
				a[k] = v
			} else {
				delete(a, k)
			}
		}
		if len(a) == 0 {
			a = nil
		}
		c.SetAnnotations(a)
	}
	return &Result{Key: key, Hash: e.hash, Overlay: files, Objects: objs}, nil
}

// MarshalObjects writes objects as a multi-document YAML stream, keys in a reader's order.
func MarshalObjects(objs []*unstructured.Unstructured) ([]byte, error) {
	var b bytes.Buffer
	for _, o := range objs {
		y, err := marshalYAML(o.Object)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes(), nil
}

// NormalizeYAML re-encodes a multi-document YAML stream (kustomize's output, or ours) the way
// MarshalObjects does, so two streams that hold the same objects in the same order compare equal
// byte for byte whatever their formatting.
func NormalizeYAML(data []byte) ([]byte, error) {
	objs, err := decodeObjects(data)
	if err != nil {
		return nil, err
	}
	return MarshalObjects(objs)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
