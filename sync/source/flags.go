package source

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// CheckPath checks a --path value: a folder inside the repository, given relative to its root.
// An absolute path or one that climbs out with ".." names no folder of the repository (a Git tree
// has no parent; a local folder's parent is not the repository).
func CheckPath(p string) error {
	if p == "" {
		return nil
	}
	slash := filepath.ToSlash(p)
	if strings.HasPrefix(slash, "/") || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return fmt.Errorf("--path %q is absolute: give the folder relative to the repository's root, e.g. %q", p, strings.TrimLeft(slash, "/"))
	}
	if c := path.Clean(slash); c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("--path %q leaves the repository: give a folder inside it, relative to its root", p)
	}
	return nil
}
