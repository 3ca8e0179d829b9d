package source

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/matryer/is"
)

const (
	ghToken  = "ghp_AbCdEf0123456789AbCdEf0123456789AbCd"
	glToken  = "glpat-AbCdEf0123456789xyzW"
	sasToken = "sv%3D2024%26sig%3DAbCdEf0123456789%252Bxyz"
)

// RootURL keeps what RedactURL returned before it hid query credentials: the sync root hashes it,
// and a root that moved would disown what an earlier version applied.
func TestRootURLIsStable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:secret@example.com/org/repo.git", "https://example.com/org/repo.git"},
		{"https://" + ghToken + "@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://h.example/r.git?private_token=abc", "https://h.example/r.git?private_token=abc"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			is := is.New(t)
			is.Equal(RootURL(tt.in), tt.want)
		})
	}
}

// A fetch from a URL holding a token, as the user name or in the query, fails against a loopback
// server without the token anywhere in the error — go-git and net/http quote the URL — while
// errors.Is still sees the cause.
func TestFetchErrorsNeverQuoteURLCredentials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		http.Error(w, "no", http.StatusUnauthorized)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := closed.Addr().String()
	closed.Close()
	up := l.Addr().String()

	tests := []struct {
		name, url string
		is        error // a cause errors.Is must still find, or nil
	}{
		{"token as the user, server down", "http://" + ghToken + "@" + down + "/fleet.git", nil},
		{"token as the user, refused", "http://" + ghToken + "@" + up + "/fleet.git", transport.ErrAuthenticationRequired},
		{"user and token, refused", "http://x-access-token:" + ghToken + "@" + up + "/fleet.git", transport.ErrAuthenticationRequired},
		{"token in the query, server down", "http://" + down + "/fleet.git?private_token=" + glToken, nil},
		{"token in the query, refused", "http://" + up + "/fleet.git?private_token=" + glToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := NewGit(GitOptions{URL: tt.url, Branch: "main"}).Fetch(ctx)
			is.True(err != nil)
			t.Log(err)
			is.True(!strings.Contains(err.Error(), ghToken) && !strings.Contains(err.Error(), glToken)) // no token in the error
			if tt.is != nil {
				is.True(errors.Is(err, tt.is))
			}
			_, err = OpenRepository(ctx, tt.url, nil)
			is.True(err != nil)
			is.True(!strings.Contains(err.Error(), ghToken) && !strings.Contains(err.Error(), glToken)) // nor in plan's clone
		})
	}
}

func TestURLCredentialWarning(t *testing.T) {
	tests := []struct {
		urls []string
		warn bool
	}{
		{[]string{"https://github.com/org/repo.git"}, false},
		{[]string{"git@github.com:org/repo.git"}, false},
		{[]string{"ssh://git@github.com/org/repo.git"}, false}, // an SSH login is no credential
		{[]string{"/srv/fleet"}, false},
		{[]string{"https://" + ghToken + "@github.com/org/repo.git"}, true},
		{[]string{"https://git@github.com/org/repo.git"}, true}, // a user in an https URL is sent as a credential
		{[]string{"https://user:pw@h.example/r.git"}, true},
		{[]string{"https://h.example/r.git?private_token=" + glToken}, true},
		{[]string{"https://github.com/org/repo.git", "https://status:" + ghToken + "@h.example/s.git"}, true}, // --status-repo
		{[]string{"", ""}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.urls, " "), func(t *testing.T) {
			is := is.New(t)
			w := URLCredentialWarning(tt.urls...)
			is.Equal(w != "", tt.warn)
			if tt.warn {
				is.True(strings.Contains(w, "--git-password-file or --git-token-env"))
				is.True(!strings.Contains(w, ghToken) && !strings.Contains(w, glToken) && !strings.Contains(w, ":pw@"))
			}
		})
	}
}
