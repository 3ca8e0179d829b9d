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
// DNS-1123 labels once validated, but the writer does not rely on it: any other character
// becomes "_", "." and ".." cannot be a segment, and a name that had to be changed gets a short
// hash of the original, so two hostile names never share a file and none leaves the folder.
func WorkspaceFile(namespace, name string) string {
	return path.Join(WorkspacesDir, safeSegment(namespace), safeSegment(name)+".yaml")
}

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
	if out == s && out != "" && out != "." && out != ".." && !strings.HasPrefix(out, ".") {
		return out
	}
	sum := sha256.Sum256([]byte(s))
	return "_" + strings.ReplaceAll(out, ".", "_") + "-" + hex.EncodeToString(sum[:4])
}
