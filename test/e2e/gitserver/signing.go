package gitserver

import (
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// NewSigningKey makes an OpenPGP key for Change.SignKey (Ed25519: fast to make) and returns it
// with its public part armored, as a keyring file holds it.
func NewSigningKey(tb testing.TB, name string) (*openpgp.Entity, string) {
	tb.Helper()
	key, err := openpgp.NewEntity(name, "", name+"@kaito-sync.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err == nil {
		err = key.Serialize(w)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		tb.Fatal(err)
	}
	return key, b.String()
}
