package source

import (
	"net"
	"net/url"
	"strings"

	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// Warnings are the things about how credentials would be sent to repoURL that are allowed but
// probably a mistake: a password or token sent over plain http:// to another machine, where
// anyone on the path can read it.
func (o AuthOptions) Warnings(repoURL string) []string {
	if o.PasswordFile == "" && o.TokenEnv == "" {
		return nil
	}
	u, err := url.Parse(repoURL)
	if err != nil || !strings.EqualFold(u.Scheme, "http") || isLoopback(u.Hostname()) {
		return nil
	}
	return []string{"credentials for " + u.Host + " would go over plain http:// unencrypted; use https://"}
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
