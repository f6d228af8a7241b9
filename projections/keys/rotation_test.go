package keys_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/projections/keys"
)

func TestRotationKeepsTheOldKeyUntilItsTokensExpire(t *testing.T) {
	f := newFixture(t, "acme-test")
	ring := keys.New(master)
	rt := f.start(t, ring, f.ensure(t, "acme-test"))
	before := roles(ring.Keys("acme-test"))
	oldPrimary, oldNext := before[signingkey.RolePrimary][0], before[signingkey.RoleNext][0]
	oldKey, _ := ring.SigningKey("acme-test")
	oldToken, err := jws.Sign([]byte(`{"sub":"u1"}`), jws.WithKey(jwa.RS256, oldKey))
	if err != nil {
		t.Fatal(err)
	}

	f.wait(t, rt, f.rotate(t, "acme-test"))
	after := roles(ring.Keys("acme-test"))
	if after[signingkey.RolePrimary][0] != oldNext || len(after[signingkey.RoleNext]) != 1 ||
		len(after[signingkey.RoleRetired]) != 1 || after[signingkey.RoleRetired][0] != oldPrimary {
		t.Fatalf("after rotation %+v", after)
	}
	newNext := after[signingkey.RoleNext][0]
	if key, err := ring.SigningKey("acme-test"); err != nil || key.KeyID() != oldNext {
		t.Fatalf("signing key after rotation: %v %v", key, err)
	}
	s, _ := ring.Signer("acme-test")
	if s.KID != oldNext || s.Key == nil || s.JWK.KeyID() != oldNext {
		t.Errorf("signer %v", s.KID)
	}

	// The old primary verifies until now + 1h (the loop's clock is fixed at now).
	if _, err := jws.Verify(oldToken, jws.WithKeySet(ring.VerificationKeys("acme-test", now.Add(59*time.Minute)))); err != nil {
		t.Errorf("a token of the retired key no longer verifies before it expires: %v", err)
	}
	checkJWKS(t, ring, "acme-test", now.Add(59*time.Minute), oldNext, newNext, oldPrimary)
	if _, ok := ring.PublicKey("acme-test", oldPrimary, now.Add(59*time.Minute)); !ok {
		t.Error("retired key missing before verify_until")
	}
	if _, ok := ring.PublicKey("acme-test", oldPrimary, now.Add(time.Hour)); ok {
		t.Error("retired key still published at verify_until")
	}
	if _, err := jws.Verify(oldToken, jws.WithKeySet(ring.VerificationKeys("acme-test", now.Add(time.Hour)))); err == nil {
		t.Error("a token of the retired key verifies after every token it signed has expired")
	}
	checkJWKS(t, ring, "acme-test", now.Add(time.Hour), oldNext, newNext)
	for _, k := range ring.Keys("acme-test") {
		if k.Role == signingkey.RoleRetired && !k.VerifyUntil.Equal(now.Add(time.Hour)) {
			t.Errorf("verify_until %v, want %v", k.VerifyUntil, now.Add(time.Hour))
		}
	}
}

func TestEnvironmentsDoNotShareKeys(t *testing.T) {
	f := newFixture(t, "acme-test", "acme-live", "beta-test")
	f.ensure(t, "acme-test")
	ring := keys.New(master)
	f.start(t, ring, f.ensure(t, "acme-live"))
	test, _ := ring.SigningKey("acme-test")
	live, _ := ring.SigningKey("acme-live")
	if test == nil || live == nil || test.KeyID() == live.KeyID() {
		t.Fatal("environments share a signing key")
	}
	if _, ok := ring.PublicKey("acme-live", test.KeyID(), now); ok {
		t.Error("acme-live publishes a key of acme-test")
	}
	token, _ := jws.Sign([]byte(`{}`), jws.WithKey(jwa.RS256, test))
	if _, err := jws.Verify(token, jws.WithKeySet(ring.VerificationKeys("acme-live", now))); err == nil {
		t.Error("a token of acme-test verifies with acme-live's keys")
	}
	if _, err := ring.SigningKey("beta-test"); !errors.Is(err, keys.ErrNoSigningKey) || !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("environment without keys: %v", err)
	}
	if doc, err := ring.JWKS("beta-test", now); err != nil || string(doc) != `{"keys":[]}` {
		t.Errorf("jwks without keys: %s %v", doc, err)
	}
}

func TestWrongMasterKeyIsAClearErrorNotAStop(t *testing.T) {
	f := newFixture(t, "acme-test")
	ring := keys.New(bytes.Repeat([]byte{0x43}, 32))
	rt := f.start(t, ring, f.ensure(t, "acme-test"))
	for range 2 { // the second answer comes from the cache
		_, err := ring.SigningKey("acme-test")
		if !errors.Is(err, signingkey.ErrWrongMasterKey) {
			t.Fatalf("SigningKey with the wrong master key: %v", err)
		}
		if strings.Contains(err.Error(), "CCCC") || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(master)) {
			t.Errorf("error shows a master key: %v", err)
		}
	}
	if st := rt.Status(); !st.Ready || st.Error != "" {
		t.Errorf("projection status %+v", st)
	}
	if ring.VerificationKeys("acme-test", now).Len() != 2 {
		t.Error("public keys are not published with the wrong master key")
	}
	if _, err := keys.New([]byte("short")).New().(*keys.Keyring).SigningKey("acme-test"); err == nil {
		t.Error("empty keyring signs")
	}
}

func TestRebuildEqualsLive(t *testing.T) {
	f := newFixture(t, "acme-test", "acme-live")
	f.ensure(t, "acme-test")
	f.ensure(t, "acme-live")
	f.rotate(t, "acme-test")
	ring := keys.New(master)
	rt := f.start(t, ring, f.rotate(t, "acme-test"))
	before, _ := ring.SigningKey("acme-test")
	live, err := ring.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Rebuild(t.Context()); err != nil {
		t.Fatal(err)
	}
	rebuilt, _ := ring.Snapshot()
	if !bytes.Equal(live, rebuilt) {
		t.Errorf("rebuilt keys differ from the live ones:\n%s\n%s", live, rebuilt)
	}
	after, err := ring.SigningKey("acme-test")
	if err != nil || after.KeyID() != before.KeyID() {
		t.Errorf("signing key after rebuild: %v %v", after, err)
	}

	restored := ring.New().(*keys.Keyring)
	if err := restored.Restore(live); err != nil {
		t.Fatal(err)
	}
	again, _ := restored.Snapshot()
	if !bytes.Equal(live, again) {
		t.Error("snapshot → restore → snapshot changes the bytes")
	}
	if k, err := restored.SigningKey("acme-test"); err != nil || k.KeyID() != before.KeyID() {
		t.Errorf("restored signing key: %v", err)
	}
	a, _ := ring.JWKS("acme-test", now)
	b, _ := restored.JWKS("acme-test", now)
	if !bytes.Equal(a, b) {
		t.Errorf("restored jwks differs:\n%s\n%s", a, b)
	}
	generated.Lock()
	defer generated.Unlock()
	for _, der := range generated.der {
		// A 3-aligned chunk from the middle (the private exponent and primes) encodes the
		// same on its own as within the whole key.
		mid := der[len(der)/2/3*3:][:48]
		if bytes.Contains(live, []byte(base64.StdEncoding.EncodeToString(mid))) || bytes.Contains(live, mid) {
			t.Fatal("a snapshot carries a private key in clear")
		}
	}
	if bytes.Contains(live, []byte(`"d":`)) {
		t.Error("a snapshot carries a private JWK")
	}
}

func TestQueriesRunDuringRotations(t *testing.T) {
	f := newFixture(t, "acme-test")
	ring := keys.New(master)
	rt := f.start(t, ring, f.ensure(t, "acme-test"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				key, err := ring.SigningKey("acme-test")
				if err != nil {
					t.Error(err)
					return
				}
				token, _ := jws.Sign([]byte(`{}`), jws.WithKey(jwa.RS256, key))
				if _, err := jws.Verify(token, jws.WithKeySet(ring.VerificationKeys("acme-test", now))); err != nil {
					t.Error(err)
					return
				}
				ring.JWKS("acme-test", now) //nolint:errcheck
			}
		}()
	}
	for range 3 {
		f.wait(t, rt, f.rotate(t, "acme-test"))
	}
	close(stop)
	wg.Wait()
}
