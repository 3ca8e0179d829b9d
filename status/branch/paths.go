package branch

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
)

// Files the writer owns on the branch. Anything else on the branch (a note someone pushed) is
// left as it is.
const (
	WorkspacesDir = "workspaces"
	StatusFile    = "status.json"
	ReadmeFile    = "README.md"
	SVGFile       = "status.svg"
)

// WorkspaceFile is the file of one workspace: workspaces/<namespace>/<name>.yaml. Names are
// DNS-1123 labels once validated, but statuses are written for invalid workspaces too, so the
// writer relies on nothing: any other character becomes "_", "." and ".." cannot be a segment, a
// segment is never longer than maxSegment, and a name that had to be changed gets a hash of the
// original. Two different workspaces therefore never share a file (see safeSegment) and none
// leaves the folder.
func WorkspaceFile(namespace, name string) string {
	return path.Join(WorkspacesDir, safeSegment(namespace), safeSegment(name)+".yaml")
}

// maxSegment bounds a segment made from a name: a hostile name can be any length, and file systems
// refuse names longer than 255 bytes when the branch is checked out.
const maxSegment = 100

// hashBytes of SHA-256 tell changed names apart: 96 bits, so even names chosen to collide (a
// birthday search) cannot be found on purpose.
const hashBytes = 12

// safeSegment is one path segment for s. It is injective: a segment kept as it is contains no "_",
// and every changed one starts with "_" and ends with the hash of the original.
func safeSegment(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == s && out != "" && out != "." && out != ".." && !strings.HasPrefix(out, ".") && len(out) <= maxSegment {
		return out
	}
	out = strings.ReplaceAll(out, ".", "_")
	if len(out) > maxSegment {
		out = out[:maxSegment] // only ASCII is left: bytes are characters
	}
	sum := sha256.Sum256([]byte(s))
	return "_" + out + "-" + hex.EncodeToString(sum[:hashBytes])
}
