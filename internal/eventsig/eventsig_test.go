package eventsig_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
)

func masterKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// event returns a hashed envelope as the store would hand it out.
func event(pos int64, prev []byte, data string) domain.Envelope {
	env := domain.Envelope{EnvelopeVersion: 1, ID: fmt.Sprintf("id-%d", pos), Environment: "acme-test",
		Stream: "client-1", StreamVersion: pos, Position: pos, Type: "client.registered", SchemaVersion: 1,
		OccurredAt: eventstore.NormalizeTime(time.Now()), Actor: json.RawMessage(`{"kind":"system"}`),
		Data: json.RawMessage(data), PrevHash: prev}
	env.Hash = eventstore.Hash(prev, env)
	return env
}

func TestDeriveIsStableAndKeyed(t *testing.T) {
	a, again, other := eventsig.Derive(masterKey(1), "v1"), eventsig.Derive(masterKey(1), "v1"), eventsig.Derive(masterKey(2), "v1")
	next := eventsig.Derive(masterKey(1), "v2")
	if a.Public().KID != again.Public().KID || !a.Public().Key.Equal(again.Public().Key) {
		t.Error("the same master key derived two keys")
	}
	if a.Public().KID == other.Public().KID || a.Public().KID == next.Public().KID {
		t.Error("another master key or version derived the same key")
	}
	if s := fmt.Sprint(a); strings.Contains(s, fmt.Sprintf("%x", a.Public().Key)) || !strings.Contains(s, a.Public().KID) {
		t.Errorf("signer prints as %q", s)
	}
}

func TestVerifyMessage(t *testing.T) {
	signer := eventsig.Derive(masterKey(1), eventsig.CurrentVersion)
	ks := eventsig.NewKeySet(signer.Public())
	env := event(1, eventstore.GenesisHash, `{"name":"\u003cb\u003e\u0026co"}`)
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	sig := signer.Sign(env.Hash)
	got, err := ks.VerifyMessage(env.Subject(), sig, data)
	if err != nil || got.Position != 1 || !bytes.Equal(got.Hash, env.Hash) {
		t.Fatalf("genuine message: %v %+v", err, got)
	}

	altered := env
	altered.Data = json.RawMessage(`{"name":"mallory"}`)
	alteredData, _ := json.Marshal(altered)
	forged := event(1, eventstore.GenesisHash, `{"name":"mallory"}`)
	forgedData, _ := json.Marshal(forged)
	strangerSig := eventsig.Derive(masterKey(9), "v1").Sign(forged.Hash)
	kid, _, _ := strings.Cut(sig, ".")
	for _, c := range []struct {
		name, subject, sig string
		data               []byte
		want               error
	}{
		{"unsigned", env.Subject(), "", data, eventsig.ErrUnsigned},
		{"garbage signature", env.Subject(), "nonsense", data, eventsig.ErrMalformed},
		{"short signature", env.Subject(), kid + ".AAAA", data, eventsig.ErrMalformed},
		{"another key", env.Subject(), strangerSig, forgedData, eventsig.ErrUnknownKey},
		{"our kid, made-up signature", env.Subject(), kid + "." + strings.Repeat("A", 86), forgedData, eventsig.ErrBadSignature},
		{"genuine signature, altered data", env.Subject(), sig, alteredData, eventsig.ErrHash},
		{"genuine signature on a new event", env.Subject(), sig, forgedData, eventsig.ErrBadSignature},
		{"moved to another subject", "paylent.events.other.client.registered", sig, data, eventsig.ErrSubject},
		{"not an envelope", env.Subject(), sig, []byte("junk"), eventsig.ErrEnvelope},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ks.VerifyMessage(c.subject, c.sig, c.data); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestJWKSRoundTrip(t *testing.T) {
	a, b := eventsig.Derive(masterKey(1), "v1"), eventsig.Derive(masterKey(1), "v2")
	set := eventsig.NewKeySet(a.Public(), b.Public()).JWKS()
	if len(set.Keys) != 2 {
		t.Fatalf("%+v", set)
	}
	for _, k := range set.Keys {
		pub, err := eventsig.ParseJWK(k)
		if err != nil || (pub.KID != a.Public().KID && pub.KID != b.Public().KID) {
			t.Errorf("%+v: %v", k, err)
		}
		k.KID = "made-up"
		if _, err := eventsig.ParseJWK(k); err == nil {
			t.Error("a kid that is not the thumbprint was accepted")
		}
	}
}

func FuzzVerifyMessage(f *testing.F) {
	signer := eventsig.Derive(masterKey(1), "v1")
	ks := eventsig.NewKeySet(signer.Public())
	env := event(3, eventstore.GenesisHash, `{"a":1}`)
	data, _ := json.Marshal(env)
	f.Add(env.Subject(), signer.Sign(env.Hash), data)
	f.Add("x", "a.b", []byte(`{"position":1}`))
	f.Fuzz(func(t *testing.T, subject, sig string, data []byte) {
		got, err := ks.VerifyMessage(subject, sig, data)
		if err == nil && (got.Subject() != subject || !bytes.Equal(eventstore.Hash(got.PrevHash, got), got.Hash)) {
			t.Fatalf("accepted an inconsistent message")
		}
	})
}

func BenchmarkSign(b *testing.B) {
	signer := eventsig.Derive(masterKey(1), "v1")
	env := event(1, eventstore.GenesisHash, `{"jti":"abc","expires_at":"2026-01-01T00:00:00Z"}`)
	for b.Loop() {
		signer.Sign(env.Hash)
	}
}

// BenchmarkVerifyMessage is what the first consumer of a process pays per message: decode,
// recompute the hash, verify the signature (a fresh key set: nothing remembered).
func BenchmarkVerifyMessage(b *testing.B) {
	signer := eventsig.Derive(masterKey(1), "v1")
	env := event(1, eventstore.GenesisHash, `{"jti":"abc","expires_at":"2026-01-01T00:00:00Z"}`)
	data, _ := json.Marshal(env)
	sig := signer.Sign(env.Hash)
	for b.Loop() {
		if _, err := eventsig.NewKeySet(signer.Public()).VerifyMessage(env.Subject(), sig, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMessageAgain is what every further consumer of the process pays for the
// same message: decode and recompute the hash; the signature is remembered.
func BenchmarkVerifyMessageAgain(b *testing.B) {
	signer := eventsig.Derive(masterKey(1), "v1")
	ks := eventsig.NewKeySet(signer.Public())
	env := event(1, eventstore.GenesisHash, `{"jti":"abc","expires_at":"2026-01-01T00:00:00Z"}`)
	data, _ := json.Marshal(env)
	sig := signer.Sign(env.Hash)
	for b.Loop() {
		if _, err := ks.VerifyMessage(env.Subject(), sig, data); err != nil {
			b.Fatal(err)
		}
	}
}

// A remembered signature vouches for its own hash only: after the genuine message verified,
// an altered copy with the same signature, the same hash with another signature, and a
// forgery whose hash recomputes all still fail; the memory stays bounded.
func TestRememberedSignaturesVouchForNothingElse(t *testing.T) {
	signer := eventsig.Derive(masterKey(1), eventsig.CurrentVersion)
	stranger := eventsig.Derive(masterKey(2), eventsig.CurrentVersion)
	ks := eventsig.NewKeySet(signer.Public())
	env := event(1, eventstore.GenesisHash, `{"name":"acme"}`)
	sig := signer.Sign(env.Hash)
	data, _ := json.Marshal(env)
	for range 2 {
		if _, err := ks.VerifyMessage(env.Subject(), sig, data); err != nil {
			t.Fatal(err)
		}
	}
	altered := env
	altered.Data = json.RawMessage(`{"name":"mallory"}`)
	alteredData, _ := json.Marshal(altered)
	if _, err := ks.VerifyMessage(env.Subject(), sig, alteredData); !errors.Is(err, eventsig.ErrHash) {
		t.Errorf("altered data under a remembered signature: %v", err)
	}
	otherSig := strings.SplitN(stranger.Sign(env.Hash), ".", 2)[1]
	if err := ks.VerifySignature(env.Hash, signer.Public().KID+"."+otherSig); !errors.Is(err, eventsig.ErrBadSignature) {
		t.Errorf("a remembered hash with another signature: %v", err)
	}
	forged := event(1, eventstore.GenesisHash, `{"name":"mallory"}`)
	forgedData, _ := json.Marshal(forged)
	if _, err := ks.VerifyMessage(forged.Subject(), sig, forgedData); !errors.Is(err, eventsig.ErrBadSignature) {
		t.Errorf("a recomputed forgery with a remembered signature: %v", err)
	}
	for i := range 5000 { // more than it remembers: the first is forgotten, and still verifies
		e := event(int64(i+2), eventstore.GenesisHash, fmt.Sprintf(`{"n":%d}`, i))
		if err := ks.VerifySignature(e.Hash, signer.Sign(e.Hash)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ks.VerifyMessage(env.Subject(), sig, data); err != nil {
		t.Errorf("a forgotten signature no longer verifies: %v", err)
	}
}
