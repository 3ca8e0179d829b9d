package workspaces

import (
	"crypto/sha256"
	"reflect"
	"sync"
)

// FileCache remembers what each file decoded to, so that a Load reading the same bytes again
// replays the result instead of parsing the YAML. A reconciler loads the whole repository on every
// sync, and after a one-file push all other files are byte for byte what they were: parsing them
// again was most of a sync's CPU. The bytes are still read (readLimited), since only they tell
// whether a file changed; its decoding is what is skipped.
//
// An entry is keyed by the file's repository path (so Options.PathPrefix is in it), a SHA-256 of
// its bytes and the Options the load ran with (every field, so a limit or default that changes the
// decode, and any added later, misses). Only decodes are remembered: a file that could not be read
// is read again next time. Each Load drops the entries of files it did not read, so the cache never
// holds more than one snapshot's files.
//
// A Set never shares memory with the cache or with another Set: what is stored and what is
// replayed are deep copies. That is required, not cautious: Check appends to Companion.Owners, and
// callers may keep or edit the Set of one sync while the next one loads.
//
// A FileCache is safe for concurrent use, but it pays off only for one sequence of loads of one
// tree (a Reconciler's syncs, which Run serialises): loads of different trees through one cache
// stay correct but drop each other's entries.
type FileCache struct {
	mu      sync.Mutex
	entries map[string]*fileEntry // repository path → its last decode

	hits, decodes int // for tests
}

// NewFileCache returns an empty cache.
func NewFileCache() *FileCache {
	return &FileCache{entries: map[string]*fileEntry{}}
}

// fileEntry is one file's decode. Its values are never changed once stored, so a replay may copy
// them without holding the lock.
type fileEntry struct {
	sum  [sha256.Size]byte
	opts Options // Cache is nil
	out  fileOutput
}

// fileOutput is what decoding one file adds to a Set.
type fileOutput struct {
	workspaces []*Workspace
	companions []*Companion
	problems   Problems
	broken     []string
}

// setMark is where a Set's lists end before a file is decoded into it.
type setMark struct{ workspaces, companions, problems, broken int }

func (s *Set) mark() setMark {
	return setMark{len(s.Workspaces), len(s.Companions), len(s.Problems), len(s.Broken)}
}

// since copies what was added to s after m.
func (s *Set) since(m setMark) fileOutput {
	return fileOutput{
		workspaces: copyAll(s.Workspaces[m.workspaces:], (*Workspace).deepCopy),
		companions: copyAll(s.Companions[m.companions:], (*Companion).deepCopy),
		problems:   append(Problems(nil), s.Problems[m.problems:]...),
		broken:     append([]string(nil), s.Broken[m.broken:]...),
	}
}

// add appends copies of out to s, in the order decoding added them: the set comes out as if the
// file had been decoded again.
func (s *Set) add(out fileOutput) {
	s.Workspaces = append(s.Workspaces, copyAll(out.workspaces, (*Workspace).deepCopy)...)
	s.Companions = append(s.Companions, copyAll(out.companions, (*Companion).deepCopy)...)
	s.Problems = append(s.Problems, out.problems...)
	s.Broken = append(s.Broken, out.broken...)
}

func copyAll[T any](in []*T, deepCopy func(*T) *T) []*T {
	if len(in) == 0 {
		return nil
	}
	out := make([]*T, len(in))
	for i, v := range in {
		out[i] = deepCopy(v)
	}
	return out
}

// decodeCached decodes data into s, or replays what the same bytes decoded to last time.
func (c *FileCache) decodeCached(s *Set, file string, data []byte, opts Options) {
	sum := sha256.Sum256(data)
	opts.Cache = nil
	c.mu.Lock()
	e := c.entries[file]
	// DeepEqual: a DisplayPath func is never equal, so a load that renames files decodes afresh.
	hit := e != nil && e.sum == sum && reflect.DeepEqual(e.opts, opts)
	if hit {
		c.hits++
	} else {
		c.decodes++
	}
	c.mu.Unlock()
	if hit {
		s.add(e.out)
		return
	}
	m := s.mark()
	s.decodeFile(file, data, opts)
	e = &fileEntry{sum: sum, opts: opts, out: s.since(m)}
	c.mu.Lock()
	c.entries[file] = e
	c.mu.Unlock()
}

// keepOnly drops the entries of files not in read: a file deleted, renamed or no longer readable.
func (c *FileCache) keepOnly(read map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for file := range c.entries {
		if !read[file] {
			delete(c.entries, file)
		}
	}
}

// Len is the number of files remembered.
func (c *FileCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
