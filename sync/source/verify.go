package source

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// ErrUnverifiedCommit is wrapped by fetch errors for a tip commit that is unsigned or whose
// signature does not verify against the keyring.
var ErrUnverifiedCommit = errors.New("commit refused")

// maxKeyRing bounds the keyring file: public keys are a few KB each.
const maxKeyRing = 1 << 20

// ReadKeyRing reads a file of armored OpenPGP public keys (gpg --export --armor KEYID...) for
// GitOptions.KeyRing, and checks it holds at least one key, so a wrong file fails at startup
// rather than refusing every commit.
func ReadKeyRing(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyRing+1))
	if err != nil {
		return "", fmt.Errorf("keyring %s: %w", file, err)
	}
	if len(b) > maxKeyRing {
		return "", fmt.Errorf("keyring %s: larger than %d bytes", file, maxKeyRing)
	}
	keys, err := openpgp.ReadArmoredKeyRing(strings.NewReader(string(b)))
	if err != nil {
		return "", fmt.Errorf("keyring %s: not an armored OpenPGP public key block (gpg --export --armor KEYID > %s): %w", file, file, err)
	}
	if len(keys) == 0 {
		return "", fmt.Errorf("keyring %s: holds no key", file)
	}
	return string(b), nil
}

// verifyCommit accepts a commit only if its OpenPGP signature verifies against keyRing. Errors
// name the commit, its subject and author, and the signing key when there is one, so the person
// who must fix it knows which push to redo.
func verifyCommit(c *object.Commit, keyRing string) error {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	what := fmt.Sprintf("commit %s (%q by %s)", gitbranch.ShortCommit(c.Hash.String()), subject, c.Author.Email)
	sig := strings.TrimSpace(c.PGPSignature)
	switch {
	case sig == "":
		return fmt.Errorf("%w: %s is not signed; --verify-commits syncs only commits signed by a key in the keyring", ErrUnverifiedCommit, what)
	case strings.Contains(sig, "BEGIN SSH SIGNATURE"):
		return fmt.Errorf("%w: %s is signed with an SSH key; --verify-commits checks OpenPGP signatures only", ErrUnverifiedCommit, what)
	}
	if _, err := c.Verify(keyRing); err != nil {
		if id := signerKeyID(sig); id != "" {
			return fmt.Errorf("%w: %s: its signature by key %s does not verify against the keyring: %v", ErrUnverifiedCommit, what, id, err)
		}
		return fmt.Errorf("%w: %s: its signature does not verify against the keyring: %v", ErrUnverifiedCommit, what, err)
	}
	return nil
}

// signerKeyID reads the issuer key ID from an armored signature, "" when it cannot.
func signerKeyID(armored string) string {
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		return ""
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		return ""
	}
	if s, ok := p.(*packet.Signature); ok && s.IssuerKeyId != nil {
		return fmt.Sprintf("%016X", *s.IssuerKeyId)
	}
	return ""
}
