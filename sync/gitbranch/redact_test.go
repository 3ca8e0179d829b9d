package gitbranch

import (
	"testing"

	"github.com/matryer/is"
)

const (
	ghToken  = "ghp_AbCdEf0123456789AbCdEf0123456789AbCd"
	glToken  = "glpat-AbCdEf0123456789xyzW"
	sasToken = "sv%3D2024%26sig%3DAbCdEf0123456789%252Bxyz"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		// User information, whole: user:password, a token as the user name, a token as the password.
		{"https://user:secret@example.com/org/repo.git", "https://example.com/org/repo.git"},
		{"https://" + ghToken + "@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://x-access-token:" + ghToken + "@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://oauth2:" + glToken + "@gitlab.example.com:8443/org/repo.git", "https://gitlab.example.com:8443/org/repo.git"},
		{"http://kaito@127.0.0.1:8080/fleet.git", "http://127.0.0.1:8080/fleet.git"},
		{"ssh://git@github.com/org/repo.git", "ssh://github.com/org/repo.git"},
		// An "@" in the path is not user information.
		{"https://example.com/org/@scope/repo.git", "https://example.com/org/@scope/repo.git"},
		// Credential query parameters, any case; the others are kept as given.
		{"https://gitlab.example.com/org/repo.git?private_token=" + glToken, "https://gitlab.example.com/org/repo.git?private_token=REDACTED"},
		{"https://h.example/r.git?ref=main&Access_Token=abc123&x=1", "https://h.example/r.git?ref=main&Access_Token=REDACTED&x=1"},
		{"https://h.example/r.git?TOKEN=a&password=b&secret=c&key=d&sig=e&signature=f&auth=g", "https://h.example/r.git?TOKEN=REDACTED&password=REDACTED&secret=REDACTED&key=REDACTED&sig=REDACTED&signature=REDACTED&auth=REDACTED"},
		{"https://acct.blob.core.windows.net/c/r.git?sv=2024-01-01&sig=" + sasToken, "https://acct.blob.core.windows.net/c/r.git?sv=2024-01-01&sig=REDACTED"},
		{"https://s3.example/r.git?X-Amz-Signature=abc&X-Amz-Credential=def&X-Amz-Date=20240101", "https://s3.example/r.git?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&X-Amz-Date=20240101"},
		{"https://h.example/r.git?client_secret=a&api-key=b&apikey=c&authorization=d", "https://h.example/r.git?client_secret=REDACTED&api-key=REDACTED&apikey=REDACTED&authorization=REDACTED"},
		{"https://h.example/r.git?ref=main&depth=1", "https://h.example/r.git?ref=main&depth=1"},
		{"https://h.example/r.git?monkey=1&design=2", "https://h.example/r.git?monkey=1&design=2"}, // "key" and "sig" only as words
		// Both at once, with a fragment.
		{"https://" + ghToken + "@h.example/r.git?token=" + ghToken + "#main", "https://h.example/r.git?token=REDACTED#main"},
		// URLs that do not parse are redacted all the same.
		{"https://" + ghToken + "@h.example/%zz/r.git", "https://h.example/%zz/r.git"},
		{"https://u:p w@h.example/r.git", "https://h.example/r.git"},
		// scp-like SSH: the login stays, a token pasted there does not.
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{ghToken + "@github.com:org/repo.git", "github.com:org/repo.git"},
		// No credentials: unchanged, byte for byte.
		{"https://example.com/org/repo.git", "https://example.com/org/repo.git"},
		{"file:///srv/git/fleet.git", "file:///srv/git/fleet.git"},
		{"/srv/git/fleet", "/srv/git/fleet"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			is := is.New(t)
			is.Equal(RedactURL(tt.in), tt.want)
		})
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct{ name, text, url, want string }{
		{"net/http quotes the URL with the user name", `Get "https://` + ghToken + `@h.example/r.git/info/refs?service=git-upload-pack": dial tcp: connection refused`,
			"https://" + ghToken + "@h.example/r.git", `Get "https://h.example/r.git/info/refs?service=git-upload-pack": dial tcp: connection refused`},
		{"a password masked by net/http keeps its user", `Get "https://bot:***@h.example/r.git": EOF`, "https://bot:pw12345678@h.example/r.git", `Get "https://h.example/r.git": EOF`},
		{"go-git puts the query in the path", "unexpected client error: https://h.example/r.git?private_token=" + glToken + "/info/refs?service=x",
			"https://h.example/r.git?private_token=" + glToken, "unexpected client error: https://h.example/r.git?private_token=REDACTED"},
		{"the secret alone, outside any URL", "authentication failed for user " + ghToken, "https://" + ghToken + "@h.example/r.git", "authentication failed for user REDACTED"},
		{"percent-encoded", "user ghp%2Fabc%2Bdef", "https://ghp%2Fabc%2Bdef@h.example/r.git", "user REDACTED"},
		{"short logins are left alone", "git: connection refused", "https://git@h.example/r.git", "git: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(RedactText(tt.text, tt.url), tt.want)
		})
	}
}
