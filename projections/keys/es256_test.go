package keys_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/internal/keygen"
	"github.com/paylent/paylent/projections/keys"
)

// apply folds events of env into ring as records at increasing positions.
func apply(t *testing.T, ring *keys.Keyring, env string, pos *int64, events ...domain.Event) {
	t.Helper()
	for _, e := range events {
		*pos++
		rec := domain.Record{Envelope: domain.Envelope{Environment: env, Position: *pos, OccurredAt: now}, Event: e}
		if err := ring.Apply(rec); err != nil {
			t.Fatal(err)
		}
	}
}

func esCreated(t *testing.T) signingkey.Created {
	t.Helper()
	m, err := keygen.ES256Material(master, nil)
	if err != nil {
		t.Fatal(err)
	}
	return signingkey.Created{KID: m.KID, Alg: "ES256", PublicJWK: m.PublicJWK, PrivateKey: m.SealedPrivate, Role: signingkey.RoleNext}
}

// An ES256 environment signs with its P-256 key and publishes EC keys, before and after a
// checkpoint is restored (which parses no key until one is used); Incomplete lists it until
// it has a next key.
func TestES256Keys(t *testing.T) {
	ring := keys.New(master)
	var pos int64
	a, b := esCreated(t), esCreated(t)
	apply(t, ring, "es-test", &pos, a, signingkey.Promoted{KID: a.KID})
	if got := ring.Incomplete(); !slices.Equal(got, []string{"es-test"}) {
		t.Fatalf("incomplete %v; want es-test (a primary, no next)", got)
	}
	apply(t, ring, "es-test", &pos, b)
	if got := ring.Incomplete(); len(got) != 0 {
		t.Fatalf("incomplete %v after the next key", got)
	}
	snap, err := ring.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := ring.New().(*keys.Keyring)
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*keys.Keyring{"live": ring, "restored": restored} {
		s, err := r.Signer("es-test")
		if err != nil || s.Alg != jwa.ES256 || s.KID != a.KID {
			t.Fatalf("%s signer: %+v %v", name, s, err)
		}
		signed, err := jws.Sign([]byte(`{"sub":"u1"}`), jws.WithKey(s.Alg, s.Key, jws.WithProtectedHeaders(kidHeader(s.KID))))
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := r.JWKS("es-test", now)
		set, err := jwk.Parse(doc)
		if err != nil || set.Len() != 2 {
			t.Fatalf("%s JWKS %s: %v", name, doc, err)
		}
		for i := range set.Len() {
			k, _ := set.Key(i)
			var members map[string]any
			raw, _ := json.Marshal(k)
			json.Unmarshal(raw, &members) //nolint:errcheck // just encoded
			if members["kty"] != "EC" || members["crv"] != "P-256" || members["alg"] != "ES256" || members["use"] != "sig" || members["d"] != nil {
				t.Errorf("%s JWKS key %v", name, members)
			}
		}
		if _, err := jws.Verify(signed, jws.WithKeySet(set, jws.WithRequireKid(true))); err != nil {
			t.Errorf("%s: an ES256 signature does not verify with the JWKS: %v", name, err)
		}
		if infos := r.Keys("es-test"); len(infos) != 2 || infos[0].Alg != "ES256" {
			t.Errorf("%s keys %+v", name, infos)
		}
	}
	again, _ := restored.Snapshot()
	if !bytes.Equal(snap, again) {
		t.Error("snapshot → restore → snapshot changes the bytes")
	}
}

// A key whose public JWK is not of its algorithm never verifies nor signs.
func TestKeyOfTheWrongAlgorithmIsUnusable(t *testing.T) {
	ring := keys.New(master)
	var pos int64
	c := esCreated(t)
	c.Alg = "RS256" // an EC JWK recorded as RS256
	apply(t, ring, "odd", &pos, c, signingkey.Promoted{KID: c.KID})
	if _, err := ring.Signer("odd"); err == nil {
		t.Error("a signer of an EC key recorded as RS256")
	}
	if set := ring.VerificationKeys("odd", now.Add(time.Minute)); set.Len() != 0 {
		t.Errorf("%d verification keys; want none", set.Len())
	}
}

func kidHeader(kid string) jws.Headers {
	h := jws.NewHeaders()
	h.Set(jws.KeyIDKey, kid) //nolint:errcheck // valid
	return h
}
