package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/projections/tokens"
	"github.com/paylent/paylent/tenants"
)

// oneKey is a keyring of one RSA key: a unit-test stand-in for projections/keys.
type oneKey struct {
	signer *keys.Signer
	set    jwk.Set
}

func newOneKey(t testing.TB) *oneKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := jwk.FromRaw(priv.Public())
	pub.Set(jwk.KeyIDKey, "k1")          //nolint:errcheck
	pub.Set(jwk.AlgorithmKey, jwa.RS256) //nolint:errcheck
	set := jwk.NewSet()
	set.AddKey(pub) //nolint:errcheck
	return &oneKey{signer: &keys.Signer{KID: "k1", Key: priv}, set: set}
}

func (k *oneKey) Signer(string) (*keys.Signer, error)        { return k.signer, nil }
func (k *oneKey) VerificationKeys(string, time.Time) jwk.Set { return k.set }
func (k *oneKey) JWKS(string, time.Time) ([]byte, error)     { return json.Marshal(k.set) }

// Only tokens signed by the environment's key, for its issuer, with typ at+jwt and in date
// verify; whatever the fuzzer mutates, a token that verifies has our signing input.
func FuzzLookupJWT(f *testing.F) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	// A loop over an empty log: a token not in the tokens model is read through it.
	h := New(Options{ReadModels: ReadModels{Keys: newOneKey(f), Tokens: tokens.New()}, Now: func() time.Time { return now },
		Loop: eventstore.NewLoop(eventstore.NewMemory(), eventtypes.Registry(), func() time.Time { return now })})
	t := tenants.Tenant{Slug: "acme-test", Issuer: "http://acme-test.localhost:4000"}
	good, err := h.signJWT(context.Background(), t.Slug, "at+jwt", accessClaims{Issuer: t.Issuer, Subject: "c1", Audience: []string{t.Issuer},
		ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(), JTI: "jti-0123456789abcdef", ClientID: "c1"})
	if err != nil {
		f.Fatal(err)
	}
	wrongTyp, _ := h.signJWT(context.Background(), t.Slug, "JWT", accessClaims{Issuer: t.Issuer, Subject: "c1", ExpiresAt: now.Add(time.Hour).Unix(), JTI: "j2"})
	otherIss, _ := h.signJWT(context.Background(), t.Slug, "at+jwt", accessClaims{Issuer: "http://evil", Subject: "c1", ExpiresAt: now.Add(time.Hour).Unix(), JTI: "j3"})
	expired, _ := h.signJWT(context.Background(), t.Slug, "at+jwt", accessClaims{Issuer: t.Issuer, Subject: "c1", ExpiresAt: now.Add(-time.Hour).Unix(), JTI: "j4"})
	for _, s := range []string{good, wrongTyp, otherIss, expired, "a.b.c", "..", good + "x"} {
		f.Add(s)
	}
	goodInput := good[:strings.LastIndexByte(good, '.')]
	f.Fuzz(func(tt *testing.T, value string) {
		found, err := h.lookupJWT(context.Background(), t, value)
		if err != nil {
			return
		}
		dot := strings.LastIndexByte(value, '.')
		if dot < 0 || value[:dot] != goodInput || found.JTI != "jti-0123456789abcdef" {
			tt.Fatalf("accepted a token that is not ours: %q", value)
		}
	})
}
