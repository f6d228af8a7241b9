package secret_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/paylent/paylent/internal/secret"
)

func TestSealPassword(t *testing.T) {
	mk, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	phc := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
	sealed, err := secret.SealPassword(mk, phc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, secret.SealedPasswordPrefix) || strings.Contains(sealed, "argon2id") {
		t.Fatalf("sealed form shows the hash: %s", sealed)
	}
	if again, _ := secret.SealPassword(mk, phc); again == sealed {
		t.Error("two seals of one hash are equal (the nonce is not random)")
	}
	if got, err := secret.OpenPassword(mk, sealed); err != nil || got != phc {
		t.Fatalf("open: %q %v", got, err)
	}
	if got, err := secret.OpenPassword(mk, phc); err != nil || got != phc {
		t.Errorf("a hash from before sealing: %q %v", got, err)
	}
	altered := sealed[:len(sealed)-2] + "AA"
	for name, tc := range map[string]struct {
		key    []byte
		stored string
	}{"another master key": {other, sealed}, "altered": {mk, altered}, "truncated": {mk, secret.SealedPasswordPrefix + "AAAA"}, "no key": {nil, sealed}} {
		if _, err := secret.OpenPassword(tc.key, tc.stored); err == nil {
			t.Errorf("%s opened", name)
		} else if name != "no key" && !errors.Is(err, secret.ErrSealed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := secret.SealPassword(nil, phc); err == nil {
		t.Error("sealed without a master key")
	}
}

func TestSealSecretIsBoundToKeyAndPurpose(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	sealed, err := secret.SealSecret(key, secret.PurposeTOTPSeed, []byte("JBSWY3DPEHPK3PXP"))
	if err != nil || !strings.HasPrefix(sealed, secret.SealedPasswordPrefix) || strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatalf("sealed %q %v", sealed, err)
	}
	if got, err := secret.OpenSecret(key, secret.PurposeTOTPSeed, sealed); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := secret.OpenSecret([]byte("another key of thirty-two bytes!"), secret.PurposeTOTPSeed, sealed); err != secret.ErrSealedSecret {
		t.Errorf("another master key: %v", err)
	}
	if _, err := secret.OpenSecret(key, "another purpose", sealed); err != secret.ErrSealedSecret {
		t.Errorf("another purpose: %v", err)
	}
	if _, err := secret.OpenPassword(key, sealed); err == nil {
		t.Error("a seed opens as a password hash")
	}
}
