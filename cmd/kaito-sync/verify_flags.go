package main

import (
	"github.com/spf13/pflag"

	"github.com/kaito-sync/kaito-sync/sync/source"
)

// verifyFlags make the sync refuse commits not signed by a trusted key: whoever can push to the
// branch (or steal a token that can) otherwise controls what runs on the cluster's GPUs.
type verifyFlags struct {
	verify  bool
	keyring string
}

func addVerifyFlags(fs *pflag.FlagSet) *verifyFlags {
	v := &verifyFlags{}
	fs.BoolVar(&v.verify, "verify-commits", false, "sync only a branch tip whose OpenPGP signature verifies against --verify-commits-keyring; "+
		"an unsigned or untrusted commit fails the sync, nothing is applied or pruned")
	fs.StringVar(&v.keyring, "verify-commits-keyring", "", "file of armored OpenPGP public keys trusted to sign commits (gpg --export --armor KEYID... > FILE)")
	return v
}

// keyRing returns the armored keyring for source.GitOptions.KeyRing, "" when commits are not
// verified. local says --repo is a folder: it is read as it is on disk, uncommitted edits
// included, so there is no signed commit to check, and the flag is refused rather than ignored.
// The keyring is read and parsed now, so a wrong file fails at startup, not on every sync.
func (v *verifyFlags) keyRing(local bool) (string, error) {
	switch {
	case v == nil || (!v.verify && v.keyring == ""):
		return "", nil
	case !v.verify:
		return "", usageErrorf("--verify-commits-keyring needs --verify-commits")
	case v.keyring == "":
		return "", usageErrorf("--verify-commits needs --verify-commits-keyring FILE: the public keys allowed to sign")
	case local:
		return "", usageErrorf("--verify-commits needs a Git URL in --repo: a local folder is read as it is on disk, uncommitted edits " +
			"included, so there is no signed commit to check (file:///path/to/repo syncs its committed branch)")
	}
	ring, err := source.ReadKeyRing(v.keyring)
	if err != nil {
		return "", usageErrorf("--verify-commits-keyring: %v", err)
	}
	return ring, nil
}
