package resourceserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Event signatures (docs/EVENTS.md of Paylent, "Verifying events"): Paylent's relay signs
// every message with Ed25519 over a fixed context and the event's chain hash, in the
// Paylent-Signature header as "<kid>.<base64url signature>". The hash is SHA-256 over the
// previous hash and every envelope field, so recomputing it and checking the signature
// checks the whole event. The keys are published as an Ed25519 JWK set at the URL the
// discovery document names in paylent_event_signing_jwks_uri.
const (
	signatureHeader  = "Paylent-Signature"
	signingContext   = "paylent event signature v1\x00"
	hashTimeLayout   = "2006-01-02T15:04:05.000000Z"
	metadataEventKey = "paylent_event_signing_jwks_uri"
)

// signedEnvelope is the whole envelope: every field the hash covers.
type signedEnvelope struct {
	ID            string          `json:"id"`
	Environment   string          `json:"environment"`
	Stream        string          `json:"stream"`
	StreamVersion int64           `json:"stream_version"`
	Position      int64           `json:"position"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Actor         json.RawMessage `json:"actor"`
	Data          json.RawMessage `json:"data"`
	Hash          string          `json:"hash"`
	PrevHash      string          `json:"prev_hash"`
}

// eventHash is Paylent's chain hash (eventstore.Hash): SHA-256 over the previous hash and
// the fields, each byte string prefixed by its length and each integer as 8 bytes, big-endian.
func eventHash(prev []byte, e *signedEnvelope) []byte {
	h := sha256.New()
	var n [8]byte
	writeBytes := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	writeInt := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	writeBytes(prev)
	writeInt(e.Position)
	writeBytes([]byte(e.ID))
	writeBytes([]byte(e.Environment))
	writeBytes([]byte(e.Stream))
	writeInt(e.StreamVersion)
	writeBytes([]byte(e.Type))
	writeInt(int64(e.SchemaVersion))
	writeBytes([]byte(e.OccurredAt.UTC().Truncate(time.Microsecond).Format(hashTimeLayout)))
	writeBytes(e.Actor)
	writeBytes(e.Data)
	return h.Sum(nil)
}

var (
	errUnsigned     = errors.New("unsigned")
	errMalformedSig = errors.New("malformed signature")
	errUnknownKid   = errors.New("signed with an unknown key")
	errBadSignature = errors.New("signature does not verify")
	errEventHash    = errors.New("hash does not match the event")
	errNotEvent     = errors.New("not an event envelope")
	errSubject      = errors.New("subject does not match the event")
)

// eventKeys caches the issuer's event-signing keys. An unknown kid refetches them, at most
// once per interval, so made-up kids cannot make the watch hammer the issuer.
type eventKeys struct {
	v        *Verifier
	mu       sync.Mutex
	keys     map[string]ed25519.PublicKey
	fetched  time.Time
	interval time.Duration
}

// fetch reads the key set the discovery document names.
func (k *eventKeys) fetch(ctx context.Context) error {
	var m struct {
		URI string `json:"paylent_event_signing_jwks_uri"`
	}
	url := strings.TrimSuffix(k.v.issuer, "/") + "/.well-known/openid-configuration"
	if _, _, err := getJSON(ctx, k.v.client, url, &m); err != nil {
		return err
	}
	if err := checkURL(m.URI); err != nil {
		return fmt.Errorf("discovery %s %w", metadataEventKey, err)
	}
	var set struct {
		Keys []struct {
			KTY string `json:"kty"`
			CRV string `json:"crv"`
			X   string `json:"x"`
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if _, _, err := getJSON(ctx, k.v.client, m.URI, &set); err != nil {
		return err
	}
	keys := map[string]ed25519.PublicKey{}
	for _, j := range set.Keys {
		raw, err := b64.DecodeString(j.X)
		if j.KTY != "OKP" || j.CRV != "Ed25519" || j.KID == "" || err != nil || len(raw) != ed25519.PublicKeySize {
			continue
		}
		keys[j.KID] = raw
	}
	if len(keys) == 0 {
		return errors.New("the event-signing key set holds no Ed25519 key")
	}
	k.mu.Lock()
	k.keys, k.fetched = keys, k.v.now()
	k.mu.Unlock()
	return nil
}

// key returns the key named kid, refetching the set once per interval when it is unknown.
func (k *eventKeys) key(kid string) (ed25519.PublicKey, bool) {
	k.mu.Lock()
	pub, ok := k.keys[kid]
	stale := k.v.now().Sub(k.fetched) >= k.interval
	k.mu.Unlock()
	if ok || !stale {
		return pub, ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	if err := k.fetch(ctx); err != nil {
		k.mu.Lock()
		k.fetched = k.v.now() // a failed fetch waits an interval too
		k.mu.Unlock()
		k.v.log.Warn("resourceserver: cannot fetch the event-signing keys", "issuer", k.v.issuer, "err", err)
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	pub, ok = k.keys[kid]
	return pub, ok
}

// verify checks a message: its signature by a key of the issuer's set, its hash recomputed
// from the envelope, and that the subject is the event's.
func (k *eventKeys) verify(subject, sig string, data []byte) (*signedEnvelope, error) {
	if sig == "" {
		return nil, errUnsigned
	}
	kid, enc, ok := strings.Cut(sig, ".")
	raw, err := b64.DecodeString(enc)
	if !ok || err != nil || len(raw) != ed25519.SignatureSize {
		return nil, errMalformedSig
	}
	var e signedEnvelope
	if err := json.Unmarshal(data, &e); err != nil || e.Position <= 0 {
		return nil, errNotEvent
	}
	hash, err1 := hex.DecodeString(e.Hash)
	prev, err2 := hex.DecodeString(e.PrevHash)
	if err1 != nil || err2 != nil {
		return nil, errNotEvent
	}
	pub, ok := k.key(kid)
	if !ok {
		return nil, errUnknownKid
	}
	if !ed25519.Verify(pub, append([]byte(signingContext), hash...), raw) {
		return nil, errBadSignature
	}
	if !bytes.Equal(eventHash(prev, &e), hash) {
		return nil, errEventHash
	}
	if subject != subjectPrefix+e.Environment+"."+e.Type {
		return nil, errSubject
	}
	return &e, nil
}
