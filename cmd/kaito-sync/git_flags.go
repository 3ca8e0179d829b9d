package main

import (
	"github.com/spf13/pflag"

	"github.com/kaito-sync/kaito-sync/sync/source"
)

// addGitAuthFlags registers the flags naming where Git credentials come from, the same on every
// command that reads a repository (sync, plan, status). Secrets themselves are never flags.
func addGitAuthFlags(fl *pflag.FlagSet, o *source.AuthOptions) {
	fl.StringVar(&o.Username, "git-username", "", "user for HTTPS Git (default \"git\" with a token)")
	fl.StringVar(&o.PasswordFile, "git-password-file", "", "file holding the HTTPS password or token")
	fl.StringVar(&o.TokenEnv, "git-token-env", "", "environment variable holding the HTTPS token")
	fl.StringVar(&o.SSHKeyFile, "ssh-key-file", "", "private key for SSH Git URLs")
	fl.StringVar(&o.KnownHostsFile, "ssh-known-hosts", "", "known_hosts file for SSH Git URLs")
}
