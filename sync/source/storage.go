package source

import (
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Objects larger than this stay compressed in their pack and are streamed when read, never held
// whole; it matches the loader's default file limit, so a file too large to load is never inflated
// to be refused.
const largeObject = 1 << 20

// objectCacheSize bounds the decoded trees and small blobs kept between reads.
const objectCacheSize = 16 << 20

// newStorage is where fetched objects live: Git's own layout (packs and their indexes) on an
// in-memory filesystem, nothing on disk. go-git's memory storage instead inflates every object of
// a pack into its own buffer: a repository holding a 100 MB file of zeros (a 100 KB pack, a "Git
// bomb") would cost hundreds of MB to clone and keep. Here a pack costs its compressed size, and
// go-git's index build inflates one object at a time, transiently.
func newStorage() *filesystem.Storage {
	return filesystem.NewStorageWithOptions(memfs.New(), cache.NewObjectLRU(objectCacheSize),
		filesystem.Options{LargeObjectThreshold: largeObject})
}
