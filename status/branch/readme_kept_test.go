package branch

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/status"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

func phiFile(name string) string {
	return fmt.Sprintf(`apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: %s
  namespace: team-a
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: %s
inference:
  preset:
    name: phi-3-mini-4k-instruct
`, name, name)
}

// syncResult is what a hydrate-mode sync (no cluster) of files at commit reports; kept and blocked
// are the reconciler's PruneKept and PruneBlocked.
func syncResult(t *testing.T, commit string, files map[string]string, blocked string, kept ...string) *ksync.Result {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	set, err := workspaces.Load(fsys, ".", workspaces.Options{PathPrefix: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
	return &ksync.Result{Commit: commit, Set: set, PruneBlocked: blocked, PruneKept: kept}
}

// TestReadmeKeepsWhatIsRunning: the dashboard lists every workspace whose objects the sync left
// running — those of a file that no longer parses, those a refused mass prune kept — even with no
// earlier status to carry over (a first sync, a --once run into a folder), says why, and prints
// no empty code span for what it does not know.
func TestReadmeKeepsWhatIsRunning(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	eleven := map[string]string{}
	var keys []string
	for i := range 11 {
		name := fmt.Sprintf("phi-%02d", i)
		eleven[name+".yaml"] = phiFile(name)
		keys = append(keys, "team-a/"+name)
	}
	massPrune := fmt.Sprintf("it would remove 11 of 11 workspaces (%s); pass --allow-mass-prune if that is meant", strings.Join(keys, ", "))
	tests := []struct {
		name     string
		previous *ksync.Result
		result   *ksync.Result
		want     []string // in the README besides the golden file, the point of the case
	}{
		{
			name: "broken-file",
			result: syncResult(t, "", map[string]string{
				"chat.yaml":  phiFile("chat"),
				"other.yaml": "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: {name: [unclosed\n",
			}, "files did not load completely (ws/other.yaml)", "team-a/other"),
			want: []string{"| team-a | other (", "`ws/other.yaml:3:19: invalid YAML", "Prune refused"},
		},
		{
			name:     "mass-prune",
			previous: syncResult(t, "1111111111111111111111111111111111111111", eleven, ""),
			result:   syncResult(t, "2222222222222222222222222222222222222222", map[string]string{}, massPrune, keys...),
			want:     []string{"| team-a | [phi-00]", "| team-a | [phi-10]", "11 workspaces", "--allow-mass-prune"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var prev *status.Report
			if tt.previous != nil {
				prev = status.Compute(status.Input{Result: tt.previous, Now: at.Add(-time.Hour)})
			}
			rep := status.Compute(status.Input{Result: tt.result, Previous: prev, Now: at})
			readme := Readme(rep, RelativeLink(DefaultBranch))
			golden(t, "README-"+tt.name+".md.golden", readme)
			s := string(readme)
			is.True(!strings.Contains(s, "No workspaces"))
			is.True(!strings.Contains(s, "``")) // no empty code span
			for _, w := range tt.want {
				is.True(strings.Contains(s, w)) // missing from the README
			}
		})
	}
}
