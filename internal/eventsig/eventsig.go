package eventsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
)

// Header is the NATS header that carries a message's signature, "<kid>.<signature>", the
// signature in unpadded base64url.
const Header = "Paylent-Signature"

// CurrentVersion labels the key this build derives from the master key. Rotating the
// event-signing key without changing the master key means a new label (see docs/EVENTS.md).
const CurrentVersion = "v1"

// signingContext separates event signatures from anything else the same key could sign.
const signingContext = "paylent event signature v1\x00"

// Reasons a signature is refused. They say what is wrong, never what the message held.
var (
	ErrUnsigned     = errors.New("no signature")
	ErrMalformed    = errors.New("malformed signature")
	ErrUnknownKey   = errors.New("signed with an unknown key")
	ErrBadSignature = errors.New("signature does not verify")
	ErrHash         = errors.New("hash does not match the event's content")
	ErrSubject      = errors.New("subject does not match the event")
	ErrEnvelope     = errors.New("not an event envelope")
)

var b64 = base64.RawURLEncoding.Strict()

// SignedBytes is what a signature covers: a fixed context and the event's chain hash. The
// hash covers every field of the envelope and the previous hash (eventstore.Hash), so a
// verifier that recomputes it and checks this signature has checked the whole event.
func SignedBytes(hash []byte) []byte {
	return append([]byte(signingContext), hash...)
}

// Signer signs events. It holds a private key: it never prints it (see LogValue).
type Signer struct {
	priv ed25519.PrivateKey
	pub  PublicKey
}

// Derive returns the event-signing key derived from the master key under a version label:
// the Ed25519 seed is HMAC-SHA256(masterKey, "paylent event signing key <version>"). Every
// instance with the same master key derives the same key, so nothing is stored.
func Derive(masterKey []byte, version string) *Signer {
	mac := hmac.New(sha256.New, masterKey)
	mac.Write([]byte("paylent event signing key " + version))
	priv := ed25519.NewKeyFromSeed(mac.Sum(nil))
	pub := priv.Public().(ed25519.PublicKey)
	return &Signer{priv: priv, pub: PublicKey{KID: KeyID(pub), Key: pub}}
}

// Public is the signer's public key.
func (s *Signer) Public() PublicKey { return s.pub }

// Sign returns the Header value for an event whose Hash is set.
func (s *Signer) Sign(hash []byte) string {
	return s.pub.KID + "." + b64.EncodeToString(ed25519.Sign(s.priv, SignedBytes(hash)))
}

// LogValue keeps the private key out of logs.
func (s *Signer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", s.pub.KID))
}

// String keeps the private key out of fmt output.
func (s *Signer) String() string { return "eventsig.Signer(" + s.pub.KID + ")" }

// PublicKey is a verification key with its key id.
type PublicKey struct {
	KID string
	Key ed25519.PublicKey
}

// KeyID is a key's id: the first 12 bytes, base64url, of the RFC 7638 JWK thumbprint.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + b64.EncodeToString(pub) + `"}`))
	return b64.EncodeToString(sum[:12])
}

// KeySet is the keys a verifier accepts: the current one and, during a rotation, the
// previous one. Its keys never change; it is safe for concurrent use.
//
// It remembers the (hash, signature) pairs it verified most recently, so that the several
// consumers of one process (every read model follows the same messages) pay one Ed25519
// verification per event, not one each. A hit needs the very hash and signature that
// verified: it vouches for nothing else. Share one KeySet per process.
type KeySet struct {
	keys map[string]ed25519.PublicKey

	mu       sync.Mutex
	verified map[string]struct{}
	order    []string // insertion order, for eviction
}

// verifiedCap bounds the remembered signatures (about 200 bytes each).
const verifiedCap = 4096

// NewKeySet returns a set of the given keys.
func NewKeySet(keys ...PublicKey) *KeySet {
	ks := &KeySet{keys: make(map[string]ed25519.PublicKey, len(keys)), verified: map[string]struct{}{}}
	for _, k := range keys {
		ks.keys[k.KID] = k.Key
	}
	return ks
}

func (ks *KeySet) seen(key string) bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	_, ok := ks.verified[key]
	return ok
}

func (ks *KeySet) remember(key string) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if _, ok := ks.verified[key]; ok {
		return
	}
	if len(ks.order) >= verifiedCap {
		delete(ks.verified, ks.order[0])
		ks.order = ks.order[1:]
	}
	ks.verified[key] = struct{}{}
	ks.order = append(ks.order, key)
}

// VerifySignature checks a Header value against an event hash.
func (ks *KeySet) VerifySignature(hash []byte, sig string) error {
	if sig == "" {
		return ErrUnsigned
	}
	kid, enc, ok := strings.Cut(sig, ".")
	if !ok {
		return ErrMalformed
	}
	raw, err := b64.DecodeString(enc)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return ErrMalformed
	}
	pub, ok := ks.keys[kid]
	if !ok {
		return ErrUnknownKey
	}
	memo := string(hash) + "\x00" + sig
	if ks.seen(memo) {
		return nil
	}
	if !ed25519.Verify(pub, SignedBytes(hash), raw) {
		return ErrBadSignature
	}
	ks.remember(memo)
	return nil
}

// Verify checks that env's hash recomputes from its content and previous hash, and that sig
// signs it. It does not check the chain link (that env.PrevHash is the hash of the event
// before it): that needs the verifier's own history.
func (ks *KeySet) Verify(env domain.Envelope, sig string) error {
	if err := ks.VerifySignature(env.Hash, sig); err != nil {
		return err
	}
	if !bytes.Equal(eventstore.Hash(env.PrevHash, env), env.Hash) {
		return ErrHash
	}
	return nil
}

// VerifyMessage decodes and verifies a NATS message: the signature header, the hash, and
// that the subject is the event's. Errors are the package's reasons, safe to log.
func (ks *KeySet) VerifyMessage(subject string, sig string, data []byte) (domain.Envelope, error) {
	var env domain.Envelope
	if sig == "" {
		return env, ErrUnsigned
	}
	if err := json.Unmarshal(data, &env); err != nil || env.Position <= 0 {
		return domain.Envelope{}, ErrEnvelope
	}
	if err := ks.Verify(env, sig); err != nil {
		return domain.Envelope{}, err
	}
	if subject != env.Subject() {
		return domain.Envelope{}, ErrSubject
	}
	return env, nil
}

// JWK is an Ed25519 public key as a JSON Web Key (RFC 8037).
type JWK struct {
	KTY string `json:"kty"`
	CRV string `json:"crv"`
	X   string `json:"x"`
	KID string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS renders the set, ordered by kid.
func (ks *KeySet) JWKS() JWKS {
	out := JWKS{Keys: make([]JWK, 0, len(ks.keys))}
	for kid, pub := range ks.keys {
		out.Keys = append(out.Keys, JWK{KTY: "OKP", CRV: "Ed25519", X: b64.EncodeToString(pub), KID: kid, Use: "sig", Alg: "EdDSA"})
	}
	sort.Slice(out.Keys, func(i, j int) bool { return out.Keys[i].KID < out.Keys[j].KID })
	return out
}

// ParseJWK reads one Ed25519 JWK.
func ParseJWK(k JWK) (PublicKey, error) {
	if k.KTY != "OKP" || k.CRV != "Ed25519" {
		return PublicKey{}, fmt.Errorf("key %q: not an Ed25519 key", k.KID)
	}
	raw, err := b64.DecodeString(k.X)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return PublicKey{}, fmt.Errorf("key %q: malformed x", k.KID)
	}
	if kid := KeyID(raw); k.KID != kid {
		return PublicKey{}, fmt.Errorf("key %q: kid is not the key's thumbprint", k.KID)
	}
	return PublicKey{KID: k.KID, Key: raw}, nil
}

// Signed is an envelope with its signature, as `paylent events` and GET /api/v1/events
// print it: the envelope's fields and "signature", the same value as the NATS header.
type Signed struct {
	domain.Envelope
	Signature string `json:"signature,omitempty"`
}

// Envelope returns env with its signature.
func (s *Signer) Envelope(env domain.Envelope) Signed {
	return Signed{Envelope: env, Signature: s.Sign(env.Hash)}
}
