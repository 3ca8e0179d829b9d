package source

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// AuthOptions name where credentials come from. Secrets are read from files or the environment,
// never from flags, so they stay out of process listings and shell history.
type AuthOptions struct {
	Username string
	// PasswordFile holds a password or token for HTTPS; TokenEnv names an environment variable
	// holding one. A token with no username uses "git" (GitHub, GitLab and Azure DevOps accept any).
	PasswordFile string
	TokenEnv     string
	// SSHKeyFile is a private key for ssh:// and git@host: URLs; KnownHostsFile pins host keys.
	SSHKeyFile     string
	KnownHostsFile string
}

// Auth returns the transport auth for url, or nil when none is configured.
func (o AuthOptions) Auth(repoURL string) (transport.AuthMethod, error) {
	if isSSH(repoURL) {
		if o.SSHKeyFile == "" {
			if o.KnownHostsFile != "" {
				return nil, errors.New("--ssh-known-hosts needs --ssh-key-file: without a key it would be ignored")
			}
			return nil, nil
		}
		// Checked before the key, so a missing pin is reported even when the key is also wrong.
		if o.KnownHostsFile == "" {
			return nil, errors.New("an SSH key needs --ssh-known-hosts: host keys are never accepted blindly")
		}
		if _, err := os.Stat(o.KnownHostsFile); err != nil {
			return nil, fmt.Errorf("--ssh-known-hosts: %w", err)
		}
		user := o.Username
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, o.SSHKeyFile, os.Getenv("KAITO_SYNC_SSH_KEY_PASSPHRASE"))
		if err != nil {
			return nil, fmt.Errorf("ssh key %s: %w", o.SSHKeyFile, err)
		}
		db, err := gitssh.NewKnownHostsDb(o.KnownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("known hosts %s: %w", o.KnownHostsFile, err)
		}
		keys.HostKeyCallback = db.HostKeyCallback()
		// Negotiate only the host key types the file pins for this host: a host offering several
		// (GitHub offers ed25519, ECDSA and RSA) would otherwise present the type the client
		// prefers, which the file may lack, and the callback would refuse it as a mismatch.
		// go-git does this only for its default known_hosts, not for a callback set here.
		keys.HostKeyAlgorithms = db.HostKeyAlgorithms(sshHostPort(repoURL))
		return keys, nil
	}
	secret := ""
	switch {
	case o.PasswordFile != "":
		b, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("password file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
		if secret == "" {
			// An empty file would send no credentials, and the Git server's "not found" or
			// "authentication required" would point everywhere but here.
			return nil, fmt.Errorf("--git-password-file %s is empty", o.PasswordFile)
		}
	case o.TokenEnv != "":
		var set bool
		if secret, set = os.LookupEnv(o.TokenEnv); !set || secret == "" {
			return nil, fmt.Errorf("--git-token-env %s: the environment variable is not set or empty", o.TokenEnv)
		}
	}
	if secret == "" {
		return nil, nil
	}
	user := o.Username
	if user == "" {
		user = "git"
	}
	return &githttp.BasicAuth{Username: user, Password: secret}, nil
}

func isSSH(u string) bool {
	if strings.HasPrefix(u, "ssh://") {
		return true
	}
	// scp-like syntax: git@github.com:org/repo.git
	return !strings.Contains(u, "://") && strings.Contains(u, "@") && strings.Contains(u, ":")
}

// sshHostPort is the host:port an SSH URL connects to, as known_hosts names it; "" if the URL does
// not parse (no host key types are then pinned).
func sshHostPort(repoURL string) string {
	ep, err := transport.NewEndpoint(repoURL)
	if err != nil {
		return ""
	}
	port := ep.Port
	if port <= 0 {
		port = gitssh.DefaultPort
	}
	// go-git keeps an IPv6 address in brackets; JoinHostPort adds them back.
	return net.JoinHostPort(strings.Trim(ep.Host, "[]"), strconv.Itoa(port))
}

// RootURL is a Git URL as kaito-sync's sync root identifies it (apply.RootID hashes it): without
// its user information, and otherwise as given. It is what RedactURL returned before RedactURL
// also hid query credentials, and stays so: a root that changed would disown every object an
// earlier version applied. It is an identity, not for printing — print RedactURL.
func RootURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
