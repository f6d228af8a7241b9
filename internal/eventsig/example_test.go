package eventsig_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
)

// BEGIN verifyEvent (docs/EVENTS.md quotes this function verbatim)

// verifyEvent checks one event as a downstream service receives it: a line of
// `paylent events` / GET /api/v1/events (the signature in "signature"), or a NATS message
// (the signature in the Paylent-Signature header). keys maps kid → Ed25519 public key, read
// from the issuer's paylent_event_signing_jwks_uri; prev is the hash of the last event this
// service accepted for the environment (32 zero bytes before its first event).
func verifyEvent(line []byte, keys map[string]ed25519.PublicKey, prev []byte) (domain.Envelope, error) {
	var e struct {
		domain.Envelope
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal(line, &e); err != nil {
		return domain.Envelope{}, err
	}
	kid, sig, _ := strings.Cut(e.Signature, ".")
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || keys[kid] == nil {
		return domain.Envelope{}, errors.New("unsigned, or signed with an unknown key")
	}
	signed := append([]byte("paylent event signature v1\x00"), e.Hash...)
	switch {
	case !ed25519.Verify(keys[kid], signed, raw):
		return domain.Envelope{}, errors.New("signature does not verify")
	case !bytes.Equal(eventstore.Hash(e.PrevHash, e.Envelope), e.Hash):
		return domain.Envelope{}, errors.New("hash does not match the event's content")
	case !bytes.Equal(e.PrevHash, prev):
		return domain.Envelope{}, errors.New("does not follow the last event accepted (one is missing: read it)")
	}
	return e.Envelope, nil
}

// END verifyEvent

func Example_verifyEvent() {
	signer := eventsig.Derive(masterKey(1), eventsig.CurrentVersion)
	keys := map[string]ed25519.PublicKey{signer.Public().KID: signer.Public().Key}
	first := event(1, eventstore.GenesisHash, `{"n":1}`)
	second := event(2, first.Hash, `{"n":2}`)
	head := eventstore.GenesisHash
	for _, env := range []domain.Envelope{first, second} {
		line, _ := json.Marshal(signer.Envelope(env)) // what `paylent events` prints
		got, err := verifyEvent(line, keys, head)
		if err != nil {
			fmt.Println(err)
			return
		}
		head = got.Hash
		fmt.Println("verified", got.Position)
	}
	altered := second
	altered.Data = json.RawMessage(`{"n":3}`)
	line, _ := json.Marshal(eventsig.Signed{Envelope: altered, Signature: signer.Sign(second.Hash)})
	_, err := verifyEvent(line, keys, first.Hash)
	fmt.Println(err)
	// Output:
	// verified 1
	// verified 2
	// hash does not match the event's content
}

// docs/EVENTS.md shows verifyEvent as it is here, so the documented example is the tested one.
func TestEventsDocQuotesTheExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/EVENTS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(src), "// BEGIN verifyEvent (docs/EVENTS.md quotes this function verbatim)\n\n")
	fn, _, _ := strings.Cut(rest, "\n// END verifyEvent")
	if !strings.Contains(string(doc), fn) {
		t.Errorf("docs/EVENTS.md does not quote verifyEvent of internal/eventsig/example_test.go as it is")
	}
}
