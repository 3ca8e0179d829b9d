package source_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/sync/source"
)

// Credentials that are asked for but not there are an error, not an anonymous request.
func TestAuthRefusesMissingCredentials(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KAITO_SYNC_TEST_EMPTY_TOKEN", "")
	for _, tc := range []struct {
		name string
		opts source.AuthOptions
		want string
	}{
		{"unset env", source.AuthOptions{TokenEnv: "KAITO_SYNC_TEST_NO_SUCH_VAR"}, "--git-token-env KAITO_SYNC_TEST_NO_SUCH_VAR"},
		{"empty env", source.AuthOptions{TokenEnv: "KAITO_SYNC_TEST_EMPTY_TOKEN"}, "not set or empty"},
		{"empty file", source.AuthOptions{PasswordFile: empty}, "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			a, err := tc.opts.Auth("https://git.example/org/repo.git")
			is.True(err != nil)
			is.Equal(a, nil)
			is.True(strings.Contains(err.Error(), tc.want))
		})
	}
}

func TestAuthWarnsAboutPlainHTTP(t *testing.T) {
	token := source.AuthOptions{TokenEnv: "T"}
	for _, tc := range []struct {
		opts source.AuthOptions
		url  string
		warn bool
	}{
		{token, "http://git.example/org/repo.git", true},
		{source.AuthOptions{PasswordFile: "p"}, "HTTP://git.example/org/repo.git", true},
		{token, "https://git.example/org/repo.git", false},
		{token, "http://127.0.0.1:8080/repo.git", false},
		{token, "http://localhost/repo.git", false},
		{token, "http://[::1]:9/repo.git", false},
		{source.AuthOptions{}, "http://git.example/org/repo.git", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			is := is.New(t)
			w := tc.opts.Warnings(tc.url)
			is.Equal(len(w) > 0, tc.warn)
		})
	}
}
