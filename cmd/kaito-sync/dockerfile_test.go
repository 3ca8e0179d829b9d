package main

import (
	"bufio"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// No container engine runs the tests, so the Dockerfile is checked by what it says: its go build
// is run here as written, and its context (.dockerignore) is checked against what the build reads.

const repoRoot = "../.."

func readDockerfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Join continued lines, as the Dockerfile parser does, and their indentation into one space.
	return regexp.MustCompile(`[ \t]*\\\n[ \t]*`).ReplaceAllString(string(b), " ")
}

// The Dockerfile's ldflags, with its build args given, stamp the version and commit that
// `kaito-sync version` prints: a -X naming a variable that does not exist is silently ignored.
// The build is a plain one, sharing the test cache; the flags that make the image's binary static
// and reproducible (CGO_ENABLED=0, -trimpath) do not change what -X does, and rebuilding every
// dependency with them would cost minutes. TestDockerfileBuildsWithoutCgo covers CGO_ENABLED=0.
func TestDockerfileStampsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary")
	}
	is := is.New(t)
	df := readDockerfile(t)
	m := regexp.MustCompile(`CGO_ENABLED=0 .*go build -trimpath -buildvcs=false -ldflags "([^"]*)" -o /out/kaito-sync ./cmd/kaito-sync`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("no `CGO_ENABLED=0 ... go build -trimpath -buildvcs=false -ldflags \"...\" -o /out/kaito-sync ./cmd/kaito-sync` in the Dockerfile")
	}
	ldflags := strings.NewReplacer("${VERSION}", "v9.9.9", "${COMMIT}", "0123abc").Replace(m[1])
	bin := filepath.Join(t.TempDir(), "kaito-sync")
	build := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, "./cmd/kaito-sync")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags %q: %v\n%s", ldflags, err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	is.NoErr(err)
	is.True(strings.HasPrefix(string(out), "kaito-sync v9.9.9 (commit 0123abc, go"))
}

// Every package of the binary builds with CGO_ENABLED=0, as the Dockerfile builds it for a
// distroless image with no C library: none needs cgo.
func TestDockerfileBuildsWithoutCgo(t *testing.T) {
	list := exec.Command("go", "list", "-deps", "-e", "-f", `{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}`, "./cmd/kaito-sync")
	list.Dir = repoRoot
	list.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := list.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("CGO_ENABLED=0 go list: %v\n%s", err, out)
	}
}

// The builder image is the Go release go.mod asks for: golang images set GOTOOLCHAIN=local, so an
// older one fails the build instead of downloading the right toolchain.
func TestDockerfileGoVersion(t *testing.T) {
	is := is.New(t)
	df := readDockerfile(t)
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	is.NoErr(err)
	want := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	got := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)$`).FindStringSubmatch(df)
	is.True(want != nil && got != nil)
	is.Equal(got[1], string(want[1]))
	is.True(strings.Contains(df, "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build"))
}

// The image runs as the UID deploy/ requires, and its entrypoint is the binary it copies.
func TestDockerfileRuntime(t *testing.T) {
	is := is.New(t)
	df := readDockerfile(t)
	stages := strings.Split(df, "\nFROM ")
	final := stages[len(stages)-1]
	is.True(strings.HasPrefix(final, "gcr.io/distroless/static-debian12:nonroot"))
	is.True(strings.Contains(final, "\nUSER 65532:65532\n"))
	is.True(strings.Contains(final, "COPY --from=build /out/kaito-sync /usr/local/bin/kaito-sync\n"))
	is.True(strings.Contains(final, `ENTRYPOINT ["/usr/local/bin/kaito-sync"]`))
}

// .dockerignore leaves out nothing the build reads: every package of the binary, its embedded
// files and go.mod/go.sum are in the context.
func TestDockerignoreKeepsTheBuild(t *testing.T) {
	is := is.New(t)
	patterns := dockerignore(t)
	list := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}`,
		"./cmd/kaito-sync")
	list.Dir = repoRoot
	out, err := list.Output()
	is.NoErr(err)
	root, err := filepath.Abs(repoRoot)
	is.NoErr(err)
	files := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], root+string(filepath.Separator)) {
			continue // the module cache: downloaded in the image, not copied
		}
		dir, _ := filepath.Rel(root, f[0])
		for _, name := range f[1:] {
			files = append(files, filepath.ToSlash(filepath.Join(dir, name)))
		}
	}
	is.True(len(files) > 10)
	for _, f := range files {
		if p := ignoredBy(patterns, f); p != "" {
			t.Errorf(".dockerignore pattern %q leaves out %s, which the build needs", p, f)
		}
	}
	// And it does leave out what must not reach an image layer.
	for _, f := range []string{".git/config", "out/rendered/x.yaml", "deploy/kustomization.yaml"} {
		is.True(ignoredBy(patterns, f) != "")
	}
}

func dockerignore(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore exception %q: this check does not model exceptions", l)
		}
		out = append(out, strings.TrimPrefix(l, "/"))
	}
	return out
}

// ignoredBy returns the pattern excluding file (a slash path in the context), or "". As Docker
// does, a pattern matches the path or any of its parent folders, from the context's root; "**/"
// matches any number of folders.
func ignoredBy(patterns []string, file string) string {
	parts := strings.Split(file, "/")
	for _, p := range patterns {
		for i := 1; i <= len(parts); i++ {
			prefix := parts[:i]
			if rest, ok := strings.CutPrefix(p, "**/"); ok {
				for j := range prefix {
					if m, _ := path.Match(rest, strings.Join(prefix[j:], "/")); m {
						return p
					}
				}
				continue
			}
			if m, _ := path.Match(p, strings.Join(prefix, "/")); m {
				return p
			}
		}
	}
	return ""
}
