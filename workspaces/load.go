package workspaces

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/kaito-sync/kaito-sync/internal/crashguard"
)

// Options bound what a load accepts. The limits defend a reconciler that anyone with push access
// can feed: they are checked before the expensive work, not after.
type Options struct {
	// MaxFileSize is the largest file read, in bytes.
	MaxFileSize int64
	// MaxDocuments is the most YAML documents one file may hold.
	MaxDocuments int
	// MaxDepth is the deepest nesting of mappings and lists in a document.
	MaxDepth int
	// MaxNodes bounds the nodes visited per document with aliases expanded ("billion laughs").
	MaxNodes int
	// MaxFiles is the most YAML files one load reads. Past it the rest are not read, the set is
	// incomplete (nothing is pruned) and a problem says so: a push of a million files must not
	// make every sync read them all.
	MaxFiles int
	// DefaultNamespace is used for objects without metadata.namespace.
	DefaultNamespace string
	// AllowSecrets accepts plain-text Secrets in Git (refused by default: they leak credentials).
	AllowSecrets bool
	// PathPrefix is where the loaded tree sits in its repository (--path): files are named in
	// problems and positions as the repository names them.
	PathPrefix string
	// DisplayPath, when set, names each file in problems and positions instead of its path in the
	// tree read (after PathPrefix): the validate command shows files as the user named them, even
	// inside messages that point at another file (a name declared twice).
	DisplayPath func(string) string
	// Cache, when set, replays the decode of files whose bytes did not change since the last load
	// through it (see FileCache): a loop that loads the same repository again and again parses only
	// what a push changed. Nil decodes every file.
	Cache *FileCache
}

// DefaultOptions are the limits used when an Options field is zero.
func DefaultOptions() Options {
	return Options{
		MaxFileSize:      1 << 20,
		MaxDocuments:     100,
		MaxDepth:         64,
		MaxNodes:         100_000,
		MaxFiles:         10_000,
		DefaultNamespace: "default",
	}
}

func (o Options) withDefaults() Options {
	def := DefaultOptions()
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = def.MaxFileSize
	}
	if o.MaxDocuments <= 0 {
		o.MaxDocuments = def.MaxDocuments
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = def.MaxDepth
	}
	if o.MaxNodes <= 0 {
		o.MaxNodes = def.MaxNodes
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = def.MaxFiles
	}
	if o.DefaultNamespace == "" {
		o.DefaultNamespace = def.DefaultNamespace
	}
	return o
}

// Set is everything read from a tree of files.
type Set struct {
	Workspaces []*Workspace
	Companions []*Companion
	Problems   Problems
	// Files counts the YAML files read.
	Files int
	// Broken lists files that could not be read or parsed to the end: what they declare is unknown,
	// so nothing may be pruned on their account.
	Broken []string

	incompleteListing bool // stopped at Options.MaxFiles
	// companionIndex is Companions by key, built by Check for CompanionsOf.
	companionIndex map[string]*Companion
}

// Complete reports whether every file was read and parsed to the end. Only a complete set may be
// used to decide that something is no longer declared in Git.
func (s *Set) Complete() bool { return len(s.Broken) == 0 }

// Load reads every *.yaml and *.yml file under root in fsys, recursively, skipping hidden folders
// (.git, .github). root may also name a single file.
func Load(fsys fs.FS, root string, opts Options) (*Set, error) {
	return LoadPaths(fsys, []string{root}, opts)
}

// LoadPaths reads several files or folders as one set, so duplicates across them are found.
func LoadPaths(fsys fs.FS, roots []string, opts Options) (*Set, error) {
	opts = opts.withDefaults()
	s := &Set{}
	files, err := s.listYAML(fsys, roots, opts)
	if err != nil {
		return nil, err
	}
	var read map[string]bool // by repository path, to bound the cache
	if opts.Cache != nil {
		read = map[string]bool{}
	}
	for _, f := range files {
		s.loadFile(fsys, f, opts, read)
	}
	if opts.Cache != nil {
		opts.Cache.keepOnly(read)
	}
	s.checkDuplicates()
	s.Problems.maskCredentials()
	s.Problems.Sort()
	return s, nil
}

func isYAML(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// listYAML finds the files to read, in lexical order, at most opts.MaxFiles of them. Symbolic
// links are never followed (in Git a link is a blob holding a path, which may lead anywhere on the
// machine); one that could stand for workspaces — a YAML name, or no extension, so maybe a folder —
// is an error that makes the set incomplete, since what it stands for is unknown.
func (s *Set) listYAML(fsys fs.FS, roots []string, opts Options) ([]string, error) {
	seen := map[string]bool{}
	var files []string
	for _, root := range roots {
		root = path.Clean(root)
		// A root named explicitly (the validate command's arguments) is followed, link or not: the
		// user chose it. What the walk finds under it is not.
		info, err := fs.Stat(fsys, root)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			// A file named explicitly is read whatever its extension: the user asked for it.
			if !seen[root] {
				seen[root] = true
				files = append(files, root)
			}
			continue
		}
		err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
			case d.Type()&fs.ModeSymlink != 0:
				if isYAML(p) || path.Ext(p) == "" {
					s.symlink(fsys, p, opts)
				}
			case isYAML(p) && d.Type().IsRegular() && !seen[p]:
				if len(files) == opts.MaxFiles {
					s.tooManyFiles(root, p, opts)
					return fs.SkipAll
				}
				seen[p] = true
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if s.incompleteListing {
			break
		}
	}
	sort.Strings(files)
	return files, nil
}

// repoPath names a file as the repository does (see Options.PathPrefix).
func repoPath(name string, opts Options) string {
	if opts.PathPrefix != "" && opts.PathPrefix != "." {
		name = path.Join(opts.PathPrefix, name)
	}
	if opts.DisplayPath != nil {
		return opts.DisplayPath(name)
	}
	return name
}

func (s *Set) symlink(fsys fs.FS, name string, opts Options) {
	file := repoPath(name, opts)
	s.Broken = append(s.Broken, file)
	to := ""
	if target, err := fs.ReadLink(fsys, name); err == nil {
		to = fmt.Sprintf(" to %q", target)
	}
	s.fileProblem(file, 0, "symbolic link%s: not followed, a link may point outside the repository; "+
		"commit the file itself (nothing is pruned while it is here)", to)
}

func (s *Set) tooManyFiles(root, first string, opts Options) {
	s.incompleteListing = true
	dir := repoPath(root, opts)
	s.Broken = append(s.Broken, dir)
	s.fileProblem(dir, 0, "more than %d YAML files: only the first %d were read, %s and the files after it were not "+
		"(nothing is pruned until the folder holds fewer)", opts.MaxFiles, opts.MaxFiles, repoPath(first, opts))
}

func (s *Set) fileProblem(file string, line int, format string, args ...any) {
	s.Problems = append(s.Problems, Problem{Severity: Error, Path: file, Line: line, Col: 1, Message: fmt.Sprintf(format, args...)})
}

// loadFile reads one file and decodes it, through opts.Cache when set; read collects the files
// read, for the cache.
func (s *Set) loadFile(fsys fs.FS, name string, opts Options, read map[string]bool) {
	s.Files++
	// Read by its name in fsys, report by its name in the repository.
	file := repoPath(name, opts)
	data, err := readLimited(fsys, name, opts.MaxFileSize)
	if err != nil {
		s.Broken = append(s.Broken, file)
		s.fileProblem(file, 0, "%v", err)
		return
	}
	if opts.Cache == nil {
		s.decodeFile(file, data, opts)
		return
	}
	read[file] = true
	opts.Cache.decodeCached(s, file, data, opts)
}

// decodeFile decodes the documents of one file into s. A panic while decoding (a bug, found by
// some input) makes the file unreadable, not the process: the file is Broken, so nothing is pruned
// on its account, and the other files load on.
func (s *Set) decodeFile(file string, data []byte, opts Options) {
	s.unreadableOnPanic(file, func() { s.decodeDocuments(file, data, opts) })
}

// unreadableOnPanic runs decode, and makes file Broken with the panic as its problem if it panics.
func (s *Set) unreadableOnPanic(file string, decode func()) {
	err := crashguard.Run(func() error {
		decode()
		return nil
	})
	if err != nil {
		s.Broken = append(s.Broken, file)
		s.fileProblem(file, 0, "%v", err)
	}
}

func (s *Set) decodeDocuments(file string, data []byte, opts Options) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 0; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			s.Broken = append(s.Broken, file)
			line, col, msg := yamlErrorPos(data, err)
			s.Problems = append(s.Problems, Problem{Severity: Error, Path: file, Line: line, Col: max(col, 1), Message: "invalid YAML: " + msg})
			return
		}
		if doc >= opts.MaxDocuments {
			s.Broken = append(s.Broken, file)
			s.fileProblem(file, n.Line, "more than %d YAML documents in one file; split it", opts.MaxDocuments)
			return
		}
		s.loadDocument(file, &n, opts)
	}
}

func readLimited(fsys fs.FS, file string, limit int64) ([]byte, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > limit {
		return nil, fmt.Errorf("file is %d bytes, larger than the limit of %d bytes", info.Size(), limit)
	}
	// The stat may lie (a Git blob reader, a growing file): read at most limit+1 bytes regardless.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file is larger than the limit of %d bytes", limit)
	}
	return data, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlErrorLine pulls the line number out of a YAML syntax error.
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, strings.TrimPrefix(msg, m[0])
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// header reads apiVersion, kind, metadata.name and metadata.namespace without decoding the rest, so
// a document is routed to its type and its problems name the object.
type header struct {
	apiVersion, kind, name, namespace string
}

func scalarAt(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if resolve(n.Content[i]).Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

func readHeader(root *yaml.Node) header {
	str := func(n *yaml.Node) string {
		if n != nil && n.Kind == yaml.ScalarNode {
			return n.Value
		}
		return ""
	}
	meta := scalarAt(root, "metadata")
	return header{
		apiVersion: str(scalarAt(root, "apiVersion")),
		kind:       str(scalarAt(root, "kind")),
		name:       str(scalarAt(meta, "name")),
		namespace:  str(scalarAt(meta, "namespace")),
	}
}

func (s *Set) loadDocument(file string, doc *yaml.Node, opts Options) {
	if isNull(doc) || (len(doc.Content) == 1 && isNull(doc.Content[0])) {
		return // an empty document, e.g. after a trailing "---"
	}
	root := doc.Content[0]
	if resolve(root).Kind != yaml.MappingNode {
		s.fileProblem(file, root.Line, "expected a Kubernetes object (a mapping with apiVersion and kind), got %s", describe(resolve(root)))
		return
	}
	h := readHeader(root)
	ns := h.namespace
	if ns == "" {
		ns = opts.DefaultNamespace
	}
	// Problems of a workspace carry "namespace/name"; those of other objects "Kind/namespace/name",
	// so a ConfigMap named like its workspace never takes the workspace down with it.
	key := ""
	if h.name != "" {
		key = ns + "/" + h.name
		if h.kind != KindWorkspace {
			key = h.kind + "/" + key
		}
	}
	d := newNodeDecoder(file, opts)
	at := d.pos(root)
	switch {
	case h.kind == KindWorkspace && (h.apiVersion == V1Alpha1 || h.apiVersion == V1Beta1):
		ws := &Workspace{Source: at}
		d.decode(root, reflect.ValueOf(ws).Elem(), "", 0)
		ws.Metadata.Namespace = ns
		ws.fields, ws.placeholders = d.fields, d.placeholders
		if ws.APIVersion == V1Alpha1 && ws.Resource.Partition != nil {
			at := ws.Locate("resource.partition")
			d.problems = append(d.problems, Problem{Severity: Error, Path: at.Path, Line: at.Line, Col: at.Col,
				Field: "resource.partition", Message: fmt.Sprintf("partition exists only in %s; change apiVersion", V1Beta1)})
		}
		// Kaito lower-cases the tuning method before judging it ("LoRA" is accepted).
		if ws.Tuning != nil {
			ws.Tuning.Method = strings.ToLower(ws.Tuning.Method)
		}
		s.Workspaces = append(s.Workspaces, ws)
	case h.kind == KindWorkspace:
		d.errorf(root, "apiVersion", "unsupported apiVersion %q for Workspace: use %s or %s", h.apiVersion, V1Alpha1, V1Beta1)
	case h.apiVersion == "v1" && companionKinds[h.kind] != nil:
		d.secret = h.kind == "Secret"
		if h.kind == "Secret" && !opts.AllowSecrets {
			d.errorf(root, "kind", "plain-text Secrets do not belong in Git: anyone who can read the repository reads the token. "+
				"Create it in the cluster (kubectl create secret generic %s --from-literal=HF_TOKEN=...), or use a sealed or "+
				"SOPS-encrypted secret; pass --allow-secrets to accept it anyway", orDefault(h.name, "NAME"))
			break
		}
		obj := reflect.New(companionKinds[h.kind])
		d.decode(root, obj.Elem(), "", 0)
		c := newCompanion(h.kind, obj.Interface(), ns, at, d.fields)
		s.Companions = append(s.Companions, c)
		d.reportPlaceholders()
	case h.apiVersion == "" || h.kind == "":
		d.errorf(root, "", "not a Kubernetes object: apiVersion and kind are required")
	default:
		d.errorf(root, "kind", "%s %s is not allowed in a workspace folder: kaito-sync applies only kaito.sh Workspaces and the "+
			"ConfigMaps and PersistentVolumeClaims they reference", h.apiVersion, h.kind)
	}
	for i := range d.problems {
		d.problems[i].Workspace = key
	}
	s.Problems = append(s.Problems, d.problems...)
}

var companionKinds = map[string]reflect.Type{
	"ConfigMap":             reflect.TypeFor[corev1.ConfigMap](),
	"PersistentVolumeClaim": reflect.TypeFor[corev1.PersistentVolumeClaim](),
	"Secret":                reflect.TypeFor[corev1.Secret](),
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
