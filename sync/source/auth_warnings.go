package source

import (
	"net"
	"net/url"
	"strings"
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
