package source

import (
	"net"
	"net/url"
	"strings"

	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// Warnings are what is allowed but probably a mistake in how credentials reach the repository URLs
// a command was given, each said once: credentials written into a URL (URLCredentialWarning),
// and a password or token from a file or the environment sent over plain http:// to another
// machine, where anyone on the path can read it.
func (o AuthOptions) Warnings(urls ...string) []string {
	var out []string
	if w := URLCredentialWarning(urls...); w != "" {
		out = append(out, w)
	}
	if o.PasswordFile == "" && o.TokenEnv == "" {
		return out
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || !strings.EqualFold(u.Scheme, "http") || isLoopback(u.Hostname()) {
			continue
		}
		return append(out, "credentials for "+u.Host+" would go over plain http:// unencrypted; use https://")
	}
	return out
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URLCredentialWarning is the warning a command prints once at start when a URL it was given
// carries credentials, or "" when none does. kaito-sync never prints them, but the URL sits in
// the process's arguments (ps, /proc, the Pod spec) and shell history.
func URLCredentialWarning(urls ...string) string {
	for _, u := range urls {
		if u != "" && gitbranch.URLHasCredentials(u) && !isSSH(u) {
			return "the repository URL " + gitbranch.RedactURL(u) + " carries credentials: anyone who can list processes or read the Pod spec sees them; " +
				"pass the token with --git-password-file or --git-token-env instead (kaito-sync redacts it from its output)"
		}
	}
	return ""
}
