package branch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kaito-sync/kaito-sync/status"
)

// LinkFunc returns the URL of a source file at a commit and line, for the README.
type LinkFunc func(path string, line int, commit string) string

// RelativeLink links from the README of branch to a file at a commit of the same repository, the
// way GitHub and GitLab resolve relative links (…/blob/<branch>/README.md → …/blob/<commit>/path).
func RelativeLink(branch string) LinkFunc {
	up := strings.Repeat("../", strings.Count(branch, "/")+1)
	return func(path string, line int, commit string) string {
		if commit == "" {
			return ""
		}
		l := up + commit + "/" + path
		if line > 0 {
			l += fmt.Sprintf("#L%d", line)
		}
		return l
	}
}

// Render returns every file the writer owns, by path. Equal reports give equal bytes: nothing
// in them depends on the clock, only on the report (AGE counts to its UpdatedAt).
func Render(rep *status.Report, link LinkFunc) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, w := range rep.Workspaces {
		b, err := marshalYAML(w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.Key(), err)
		}
		head := fmt.Sprintf("# Status of workspace %s, written by kaito-sync from source commit %s.\n", w.Key(), w.Source.Commit)
		files[WorkspaceFile(w.Namespace, w.Name)] = append([]byte(head), b...)
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return nil, err
	}
	files[StatusFile] = js.Bytes()
	files[ReadmeFile] = Readme(rep, link)
	files[SVGFile] = SVG(rep)
	return files, nil
}
