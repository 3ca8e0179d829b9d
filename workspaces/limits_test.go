package workspaces

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
)

func TestMaxFiles(t *testing.T) {
	fsys := fstest.MapFS{"a/ws.yaml": {Data: []byte(minimalWorkspace)}}
	for i := range 12 {
		fsys[fmt.Sprintf("b/f%02d.yaml", i)] = &fstest.MapFile{Data: []byte("# nothing\n")}
	}
	fsys["README.md"] = &fstest.MapFile{Data: []byte("not counted\n")}
	t.Run("past the limit: the first files load, the set is incomplete", func(t *testing.T) {
		is := is.New(t)
		s, err := Load(fsys, ".", Options{MaxFiles: 10, PathPrefix: "fleet"})
		is.NoErr(err)
		is.Equal(s.Files, 10)
		is.Equal(len(s.Workspaces), 1) // the workspace in a/ comes first and still syncs
		is.True(!s.Complete())         // so nothing is pruned
		is.Equal(s.Broken, []string{"fleet"})
		p, ok := findProblem(s.Problems, "more than 10 YAML files")
		is.True(ok)
		is.Equal(p.Path, "fleet")
		is.Equal(p.Workspace, "") // tied to no workspace: it could hide any of them
		is.True(strings.Contains(p.Message, "fleet/b/f09.yaml and the files after it were not"))
	})
	t.Run("at the limit: complete", func(t *testing.T) {
		is := is.New(t)
		s, err := Load(fsys, ".", Options{MaxFiles: 13})
		is.NoErr(err)
		is.Equal(s.Files, 13)
		is.True(s.Complete())
		is.Equal(len(s.Problems), 0)
	})
	t.Run("the default is 10,000", func(t *testing.T) {
		is := is.New(t)
		big := fstest.MapFS{}
		for i := range 10_001 {
			big[fmt.Sprintf("f%05d.yaml", i)] = &fstest.MapFile{Data: []byte("# nothing\n")}
		}
		s, err := Load(big, ".", Options{})
		is.NoErr(err)
		is.Equal(s.Files, 10_000)
		_, ok := findProblem(s.Problems, "more than 10000 YAML files")
		is.True(ok)
	})
}

func TestSymlinksAreReportedNotFollowed(t *testing.T) {
	is := is.New(t)
	link := func(target string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink}
	}
	fsys := fstest.MapFS{
		"ws.yaml":       {Data: []byte(minimalWorkspace)},
		"evil.yaml":     link("../../../etc/passwd"),
		"team":          link("/etc"),
		"notes.md":      link("../README.md"), // not what workspaces are made of: ignored
		"also.yml":      link("ws.yaml"),
		"sub/deep.yaml": link("../ws.yaml"),
	}
	s, err := Load(fsys, ".", Options{})
	is.NoErr(err)
	is.Equal(len(s.Workspaces), 1)
	is.Equal(s.Broken, []string{"also.yml", "evil.yaml", "sub/deep.yaml", "team"})
	is.Equal(len(s.Problems), 4)
	p, ok := findProblem(s.Problems, `symbolic link to "../../../etc/passwd": not followed`)
	is.True(ok)
	is.Equal(p.Path, "evil.yaml")
}
