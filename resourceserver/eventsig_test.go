package resourceserver

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
)

// The package's copy of the chain hash and signature check accepts what Paylent's own
// signer produces (test-only imports: the package itself imports nothing of Paylent's).
func TestVerifiesWhatPaylentSigns(t *testing.T) {
	signer := eventsig.Derive(bytes.Repeat([]byte{3}, 32), eventsig.CurrentVersion)
	env := domain.Envelope{EnvelopeVersion: 1, ID: "e1", Environment: "acme-test", Stream: "token/acme-test/x", StreamVersion: 1,
		Position: 42, Type: eventTokenRevoked, SchemaVersion: 1, OccurredAt: eventstore.NormalizeTime(time.Now()),
		Actor: json.RawMessage(`{"kind":"client","id":"c"}`), Data: json.RawMessage(`{"jti":"j","expires_at":"2030-01-01T00:00:00Z"}`),
		PrevHash: bytes.Repeat([]byte{7}, 32)}
	env.Hash = eventstore.Hash(env.PrevHash, env)
	data, _ := json.Marshal(env)
	pub := signer.Public()
	v := must(New(Config{Issuer: "http://x", Audience: "a"}))
	k := &eventKeys{v: v, keys: map[string]ed25519.PublicKey{pub.KID: pub.Key}, fetched: time.Now(), interval: time.Hour}
	if _, err := k.verify(env.Subject(), signer.Sign(env.Hash), data); err != nil {
		t.Fatalf("a Paylent-signed event does not verify: %v", err)
	}
	line, _ := json.Marshal(signer.Envelope(env)) // an NDJSON line of `paylent events`
	if _, err := k.verify(env.Subject(), signer.Sign(env.Hash), line); err != nil {
		t.Fatalf("an events line does not verify: %v", err)
	}
}

// With full NATS rights, someone publishes made-up revocations on the environment's
// subject: unsigned, signed by a stranger (under our kid and under an unknown one), a
// genuine revocation replayed with another jti, and a genuine revocation of another
// environment moved onto this one's subject. None revokes; each is counted; the real
// revocation published after them is applied within 100 ms.
func TestWatchRevocationsIgnoresForgeries(t *testing.T) {
	ns, js := startNATS(t)
	iss := newIssuer(t)
	iss.publish("k1", 0)
	v := iss.verifier(nil)
	now := time.Now()
	token := func(jti string) string {
		c := iss.claims(now)
		c["jti"] = jti
		return iss.sign("k1", jwa.RS256, c)
	}
	exp := now.Add(time.Hour)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	w, err := v.WatchRevocations(t.Context(), nc, "acme-test")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	subject := subjectPrefix + "acme-test." + eventTokenRevoked
	stranger := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, 32))
	b, _ := signedEvent("acme-test", eventTokenRevoked, revoked("victim", exp), stranger, testEventKID)
	publishRaw(t, js, subject, b, "")
	_, sig := signedEvent("acme-test", eventTokenRevoked, revoked("victim", exp), stranger, testEventKID)
	publishRaw(t, js, subject, b, sig)
	b2, sig2 := signedEvent("acme-test", eventTokenRevoked, revoked("victim", exp), stranger, "unknown-kid")
	publishRaw(t, js, subject, b2, sig2)
	genuine, gsig := signedEvent("acme-test", eventTokenRevoked, revoked("someone-else", exp), testEventKey, testEventKID)
	publishRaw(t, js, subject, bytes.Replace(genuine, []byte("someone-else"), []byte("victim"), 1), gsig)
	moved, msig := signedEvent("other-env", eventTokenRevoked, revoked("victim", exp), testEventKey, testEventKID)
	publishRaw(t, js, subject, moved, msig)

	real := token("real")
	mustVerify(t, v, real)
	start := time.Now()
	publishEvent(t, js, "acme-test", eventTokenRevoked, revoked("real", exp))
	eventually(t, time.Second, "real revocation", func() bool { return v.denied.has("real") })
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("the real revocation took %s after the forgeries", took)
	}
	refused(t, v, real)
	mustVerify(t, v, token("victim"))
	if got := w.Ignored(); got != 5 {
		t.Errorf("ignored %d messages, want 5", got)
	}
	if _, err := (&eventKeys{v: v}).verify(subject, "", genuine); !errors.Is(err, errUnsigned) {
		t.Errorf("unsigned: %v", err)
	}
}
