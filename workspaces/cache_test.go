package workspaces

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
	corev1 "k8s.io/api/core/v1"

	"github.com/kaito-sync/kaito-sync/presets"
)

const cacheConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: params
data:
  inference_config.yaml: |
    vllm:
      max-model-len: 2048
`

// withConfig is minimalWorkspace reading cacheConfigMap, in one file.
var withConfig = strings.Replace(minimalWorkspace, "name: ws\n", "name: cfg\n", 1) + "  config: params\n---\n" + cacheConfigMap

// named is minimalWorkspace under another name.
func named(name string) string {
	return strings.Replace(minimalWorkspace, "name: ws\n", "name: "+name+"\n", 1)
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

// TestLoadCacheGivesTheSameSet loads a sequence of trees with one cache and compares each Set, the
// problems and the unexported position indexes included, with an uncached load of the same tree,
// before and after Check.
func TestLoadCacheGivesTheSameSet(t *testing.T) {
	base := map[string]string{
		"a.yaml":          minimalWorkspace,
		"cfg.yaml":        withConfig,
		"typo.yaml":       strings.Replace(named("typo"), "instanceType", "instancetype", 1),
		"mixed.yaml":      named("mixed") + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\n",
		"sub/status.yml":  named("st") + "status:\n  conditions: [{type: Ready, count: 3, ratio: 0.5, ok: true}]\n",
		"placeholder.yml": strings.Replace(named("ph"), "Standard_NC6s_v3", "<your-vm-sku>", 1),
		"secret.yaml":     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {HF_TOKEN: x}\n",
	}
	with := func(changes map[string]string) map[string]string {
		out := maps.Clone(base)
		for k, v := range changes {
			if v == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	big := named("big") + "# " + strings.Repeat("x", 5000) + "\n"
	steps := []struct {
		name        string
		files       map[string]string
		opts        Options
		wantDecodes int
	}{
		{"first load decodes every file", base, Options{}, 7},
		{"the same bytes decode nothing", base, Options{}, 0},
		{"a changed file decodes alone", with(map[string]string{"a.yaml": strings.Replace(minimalWorkspace, "phi-3", "phi-4", 1)}), Options{}, 1},
		{"a changed companion decodes alone", with(map[string]string{"cfg.yaml": strings.Replace(withConfig, "2048", "4096", 1)}), Options{}, 2},
		{"an added file decodes alone", with(map[string]string{"new.yaml": named("new")}), Options{}, 2},
		{"a removed file decodes nothing", with(map[string]string{"new.yaml": named("new"), "typo.yaml": ""}), Options{}, 0},
		{"a file turned invalid YAML", with(map[string]string{"typo.yaml": "kind: [\n"}), Options{}, 1},
		{"the same invalid file", with(map[string]string{"typo.yaml": "kind: [\n"}), Options{}, 0},
		{"valid again", base, Options{}, 1},
		{"a file too large is not cached", with(map[string]string{"big.yaml": big}), Options{MaxFileSize: 4096}, 7},
		{"and is read again", with(map[string]string{"big.yaml": big}), Options{MaxFileSize: 4096}, 0},
		{"once small it decodes", with(map[string]string{"big.yaml": named("big")}), Options{MaxFileSize: 4096}, 1},
		{"another default namespace decodes everything", base, Options{DefaultNamespace: "team"}, 7},
		{"secrets allowed decode everything", base, Options{DefaultNamespace: "team", AllowSecrets: true}, 7},
		{"another path prefix decodes everything", base, Options{DefaultNamespace: "team", AllowSecrets: true, PathPrefix: "ws"}, 7},
		{"fewer nodes allowed decode everything", base, Options{DefaultNamespace: "team", AllowSecrets: true, PathPrefix: "ws", MaxNodes: 40}, 7},
		{"no files", map[string]string{}, Options{}, 0},
	}
	cache := NewFileCache()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			is := is.New(t)
			fsys := mapFS(st.files)
			want, err := Load(fsys, ".", st.opts)
			is.NoErr(err)
			opts := st.opts
			opts.Cache = cache
			before := cache.decodes
			got, err := Load(fsys, ".", opts)
			is.NoErr(err)
			is.Equal(cache.decodes-before, st.wantDecodes)     // files parsed
			is.Equal(dump(got), dump(want))                    // the Set, problems included, readably
			is.Equal(got, want)                                // and unexported fields too
			is.Equal(cache.Len(), readable(st.files, st.opts)) // bounded to the files read

			Check(want, presets.Default(), CheckOptions{})
			Check(got, presets.Default(), CheckOptions{})
			is.Equal(dump(got), dump(want))
			is.Equal(got, want) // and after Check, which fills Owners
		})
	}
}

// dump shows a Set's exported content, for failures that reflect.DeepEqual would only call unequal.
func dump(s *Set) string {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// readable counts the files a load reads to the end, those the cache remembers.
func readable(files map[string]string, opts Options) int {
	n := 0
	for _, data := range files {
		if int64(len(data)) <= opts.withDefaults().MaxFileSize {
			n++
		}
	}
	return n
}

// countingFS counts the files opened.
type countingFS struct {
	fs.FS
	opens atomic.Int64
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.opens.Add(1)
	return c.FS.Open(name)
}

// TestLoadCacheReadsEveryFileButParsesOnlyChanged: the cache is keyed by content, so every file is
// still read; only the changed one goes through the YAML parser.
func TestLoadCacheReadsEveryFileButParsesOnlyChanged(t *testing.T) {
	is := is.New(t)
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("ws-%02d.yaml", i)] = named(fmt.Sprintf("ws-%02d", i))
	}
	cache := NewFileCache()
	load := func() (*Set, int64, int) {
		fsys := &countingFS{FS: mapFS(files)}
		before := cache.decodes
		s, err := Load(fsys, ".", Options{Cache: cache})
		is.NoErr(err)
		return s, fsys.opens.Load(), cache.decodes - before
	}
	_, _, decodes := load()
	is.Equal(decodes, 20)

	files["ws-07.yaml"] = strings.Replace(files["ws-07.yaml"], "Standard_NC6s_v3", "Standard_NC12s_v3", 1)
	s, opens, decodes := load()
	is.Equal(decodes, 1)     // only ws-07 was parsed
	is.True(opens >= 20)     // yet every file was read
	is.Equal(cache.hits, 19) // the others replayed
	is.Equal(s.Files, 20)    // and counted as read
	is.Equal(len(s.Workspaces), 20)
	is.Equal(s.Workspaces[7].Resource.InstanceType, "Standard_NC12s_v3")
}

// TestLoadCacheSetsShareNothing edits a cached load's Set the ways callers may (Check fills
// Owners) and some they should not, and checks the next load is unaffected.
func TestLoadCacheSetsShareNothing(t *testing.T) {
	is := is.New(t)
	fsys := mapFS(map[string]string{"cfg.yaml": withConfig, "st.yaml": named("st") + "status: {a: [1]}\n"})
	want, err := Load(fsys, ".", Options{})
	is.NoErr(err)
	cache := NewFileCache()
	for range 3 {
		got, err := Load(fsys, ".", Options{Cache: cache})
		is.NoErr(err)
		is.Equal(got, want)
		Check(got, presets.Default(), CheckOptions{})
		is.Equal(got.Companions[0].Owners, []string{"default/cfg"})
		ws := got.Workspaces[0]
		ws.Metadata.Name = "edited"
		ws.Resource.LabelSelector.MatchLabels["apps"] = "edited"
		ws.Inference.Preset.Name = "edited"
		ws.fields["resource"] = Pos{}
		got.Workspaces[1].Status.(map[string]any)["a"].([]any)[0] = "edited"
		got.Companions[0].Object.(*corev1.ConfigMap).Data["inference_config.yaml"] = "edited"
		got.Problems = append(got.Problems[:0], Problem{Message: "edited"})
	}
}

// TestDeepCopySharesNothing fills every exported field of a Workspace and a Companion, and the
// unexported ones by hand, and checks their copies are equal and share no pointer, map or slice.
func TestDeepCopySharesNothing(t *testing.T) {
	is := is.New(t)
	ws := &Workspace{}
	fill(reflect.ValueOf(ws).Elem(), 30)
	ws.Status = map[string]any{"a": []any{1, "b", map[string]any{"c": true}}}
	ws.fields = map[string]Pos{"resource": {Path: "a.yaml", Line: 1}}
	ws.placeholders = map[string]string{"x": "<x>"}
	cp := ws.deepCopy()
	is.Equal(cp, ws)
	is.Equal(sharedAt(reflect.ValueOf(ws), reflect.ValueOf(cp), "ws"), "") // shares nothing

	cm := &corev1.ConfigMap{}
	fill(reflect.ValueOf(cm).Elem(), 30)
	c := &Companion{Object: cm}
	fill(reflect.ValueOf(c).Elem(), 30)
	c.Object = cm
	c.fields = map[string]Pos{"data": {Path: "a.yaml", Line: 1}}
	cc := c.deepCopy()
	is.Equal(cc, c)
	is.Equal(sharedAt(reflect.ValueOf(c), reflect.ValueOf(cc), "companion"), "") // shares nothing
}

// fill sets every exported field under v, depth levels down, to something not zero.
func fill(v reflect.Value, depth int) {
	if depth == 0 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth-1)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), depth-1)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), depth-1)
		fill(v.Index(1), depth-1)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth-1)
		fill(e, depth-1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
}

// sharedAt returns the path of the first pointer, map or slice a and b share, or "".
func sharedAt(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if a.IsNil() || (a.Kind() == reflect.Slice && a.Len() == 0) {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() {
			return ""
		}
		return sharedAt(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if p := sharedAt(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	case reflect.Slice:
		for i := range a.Len() {
			if p := sharedAt(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		for _, k := range a.MapKeys() {
			if p := sharedAt(a.MapIndex(k), b.MapIndex(k), fmt.Sprintf("%s[%v]", path, k)); p != "" {
				return p
			}
		}
	}
	return ""
}

// BenchmarkLoad1000 loads 1,000 workspace files without a cache (what every sync did), through a
// warm cache (a sync after a push that changed nothing loaded) and with one file changed.
func BenchmarkLoad1000(b *testing.B) {
	files := map[string]string{}
	for i := range 1000 {
		files[fmt.Sprintf("team-%d/ws-%04d.yaml", i%10, i)] = strings.Replace(withConfig, "cfg", fmt.Sprintf("ws-%04d", i), 1)
	}
	fsys := mapFS(files)
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := Load(fsys, ".", Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		opts := Options{Cache: NewFileCache()}
		if _, err := Load(fsys, ".", opts); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := Load(fsys, ".", opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one-changed", func(b *testing.B) {
		opts := Options{Cache: NewFileCache()}
		if _, err := Load(fsys, ".", opts); err != nil {
			b.Fatal(err)
		}
		f := fsys["team-7/ws-0007.yaml"]
		orig := f.Data
		i := 0
		for b.Loop() {
			i++
			f.Data = fmt.Appendf(append([]byte(nil), orig...), "# push %d\n", i)
			if _, err := Load(fsys, ".", opts); err != nil {
				b.Fatal(err)
			}
		}
		f.Data = orig
	})
}
