package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/matryer/is"
	"github.com/spf13/pflag"
)

func TestVerifyFlags(t *testing.T) {
	dir := t.TempDir()
	key, err := openpgp.NewEntity("release", "", "release@kaito-sync.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	w, _ := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err := key.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	ring := filepath.Join(dir, "keys.asc")
	garbage := filepath.Join(dir, "garbage.asc")
	if err := os.WriteFile(ring, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, []byte("ssh-ed25519 AAAA...\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		local   bool
		want    bool   // a keyring is returned
		wantErr string // in the error; "" means none
	}{
		{"off", nil, false, false, ""},
		{"on with a keyring", []string{"--verify-commits", "--verify-commits-keyring", ring}, false, true, ""},
		{"on without a keyring", []string{"--verify-commits"}, false, false, "needs --verify-commits-keyring"},
		{"a keyring without the flag", []string{"--verify-commits-keyring", ring}, false, false, "needs --verify-commits"},
		{"a local folder", []string{"--verify-commits", "--verify-commits-keyring", ring}, true, false, "needs a Git URL in --repo"},
		{"not a keyring", []string{"--verify-commits", "--verify-commits-keyring", garbage}, false, false, "not an armored OpenPGP public key block"},
		{"a missing file", []string{"--verify-commits", "--verify-commits-keyring", filepath.Join(dir, "nope")}, false, false, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			v := addVerifyFlags(fs)
			is.NoErr(fs.Parse(tc.args))
			got, err := v.keyRing(tc.local)
			if tc.wantErr != "" {
				is.True(err != nil)
				is.True(strings.Contains(err.Error(), tc.wantErr)) // says what is wrong
				ee, ok := errors.AsType[*exitError](err)
				is.True(ok && ee.code == exitUsage) // a usage error: exit 2
				return
			}
			is.NoErr(err)
			is.Equal(got != "", tc.want)
		})
	}
}
