package workspaces

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
)

// A panic while decoding a file (a bug some input found, as "'\n---" once did in yamlErrorPos)
// makes that file unreadable: it is Broken, so the sync prunes nothing, and the process lives.
func TestDecodePanicMakesTheFileUnreadable(t *testing.T) {
	is := is.New(t)
	s := &Set{}
	s.unreadableOnPanic("team/ws.yaml", func() {
		fields := strings.Split("kind", ":")
		_ = fields[1] // index out of range: a runtime panic, as a parser's bug would be
	})
	is.Equal(s.Broken, []string{"team/ws.yaml"})
	is.True(!s.Complete())
	is.Equal(len(s.Problems), 1)
	p := s.Problems[0]
	is.Equal(p.Path, "team/ws.yaml")
	is.Equal(p.Severity, Error)
	is.True(strings.Contains(p.Message, "index out of range [1] with length 1"))
	is.True(strings.Contains(p.Message, "a bug in kaito-sync"))
	is.True(strings.Contains(p.Message, "workspaces/crash_test.go:")) // where, to report it
}

// A panic while validating one workspace makes that workspace invalid, with the panic as its
// error at its own file and line; the others are checked on. (A nil catalog panics in presets.)
func TestValidatePanicIsThatWorkspacesError(t *testing.T) {
	is := is.New(t)
	doc := func(name string) []byte {
		return []byte("apiVersion: kaito.sh/v1beta1\nkind: Workspace\nmetadata:\n  name: " + name +
			"\nresource:\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchLabels: {apps: x}\ninference:\n  preset:\n    name: phi-3-mini-4k-instruct\n")
	}
	s, err := Load(fstest.MapFS{"a.yaml": {Data: doc("a")}, "b.yaml": {Data: doc("b")}}, ".", Options{})
	is.NoErr(err)
	Check(s, nil, CheckOptions{})
	is.Equal(len(s.Valid()), 0)
	var bugs []string
	for _, p := range s.Problems {
		if strings.Contains(p.Message, "a bug in kaito-sync") {
			bugs = append(bugs, p.Path+":"+p.Workspace)
		}
	}
	is.Equal(bugs, []string{"a.yaml:default/a", "b.yaml:default/b"})
	is.True(s.Complete()) // the files read fine: a still-declared workspace keeps what runs
}
