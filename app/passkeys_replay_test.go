package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
)

// softKey is a software authenticator holding one discoverable credential: enough of
// WebAuthn (attestation "none", ES256) to register and sign in through go-webauthn.
type softKey struct {
	t       *testing.T
	key     *ecdsa.PrivateKey
	id      []byte
	user    string
	counter uint32
}

// Flags: user present, user verified, backup eligible and backed up (a synced passkey,
// which keeps no counter).
const softFlags = 0x01 | 0x04 | 0x08 | 0x10

func newSoftKey(t *testing.T) *softKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id) //nolint:errcheck // crypto/rand does not fail
	return &softKey{t: t, key: k, id: id}
}

var b64 = base64.RawURLEncoding

func challengeOf(t *testing.T, options json.RawMessage) string {
	var o struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.Challenge == "" {
		t.Fatalf("options %s: %v", options, err)
	}
	return o.Challenge
}

func (s *softKey) clientData(kind, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": rp.Origin, "crossOrigin": false})
	return b
}

func (s *softKey) authData(extra []byte, flags byte) []byte {
	rpHash := sha256.Sum256([]byte(rp.ID))
	out := append(rpHash[:], flags)
	out = binary.BigEndian.AppendUint32(out, s.counter)
	return append(out, extra...)
}

// create answers a registration ceremony.
func (s *softKey) create(options json.RawMessage) []byte {
	pub := s.key.PublicKey
	x, y := make([]byte, 32), make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{PublicKeyData: webauthncose.PublicKeyData{KeyType: 2,
		Algorithm: -7}, Curve: 1, XCoord: x, YCoord: y})
	if err != nil {
		s.t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: none
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(s.id)))
	attested = append(append(attested, s.id...), cose...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{},
		"authData": s.authData(attested, softFlags|0x40)})
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(s.id), "rawId": b64.EncodeToString(s.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(s.clientData("webauthn.create", challengeOf(s.t, options))),
			"attestationObject": b64.EncodeToString(obj)}})
	return b
}

// get answers a sign-in ceremony.
func (s *softKey) get(options json.RawMessage) []byte {
	cd := s.clientData("webauthn.get", challengeOf(s.t, options))
	ad := s.authData(nil, softFlags)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, digest[:])
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(s.id), "rawId": b64.EncodeToString(s.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString([]byte(s.user))}})
	return b
}

// A captured passkey assertion, sent again with its ceremony's state (the cookie a face
// keeps it in), is refused: the challenge was recorded as used by the first sign-in. The
// passkey keeps no counter (a synced one), so the counter cannot tell. A new ceremony signs
// in again.
func TestPasskeyAssertionReplayIsRefused(t *testing.T) {
	h := newHarness(t)
	ada := someUser(t, h, "ada@example.com")
	sk := newSoftKey(t)
	sk.user = ada
	reg, err := h.App.BeginPasskeyRegistration(t.Context(), env, ada, rp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.FinishPasskeyRegistration(t.Context(), app.FinishPasskey{Environment: env, UserID: ada, RP: rp,
		State: reg.State, Response: sk.create(reg.Options), Name: "Phone", Browser: someone}); err != nil {
		t.Fatalf("register: %v", err)
	}
	signIn, err := h.App.BeginPasskeySignIn(rp)
	if err != nil {
		t.Fatal(err)
	}
	assertion := sk.get(signIn.Options)
	finish := app.FinishPasskey{Environment: env, RP: rp, State: signIn.State, Response: assertion, Browser: someone}
	who, err := h.App.FinishPasskeySignIn(t.Context(), finish)
	if err != nil || who.User.ID != ada {
		t.Fatalf("sign in: %+v %v", who, err)
	}
	head, _ := h.Store.Latest(t.Context())
	if _, err := h.App.FinishPasskeySignIn(t.Context(), finish); !errors.Is(err, app.ErrPasskeyFailed) ||
		!errors.Is(err, factor.ErrChallengeUsed) {
		t.Errorf("the same assertion and state again: %v", err)
	}
	if after, _ := h.Store.Latest(t.Context()); after != head {
		t.Errorf("a refused replay appended events: %d → %d", head, after)
	}
	again, _ := h.App.BeginPasskeySignIn(rp)
	if _, err := h.App.FinishPasskeySignIn(t.Context(), app.FinishPasskey{Environment: env, RP: rp, State: again.State,
		Response: sk.get(again.Options), Browser: someone}); err != nil {
		t.Errorf("a new ceremony: %v", err)
	}
}

// An operator's reset of every factor removes the authenticator and the passkeys in one
// append and says what it removed; a user cannot reset through it, the user of another
// environment is not found, and a user with nothing left has nothing to reset.
func TestResetFactors(t *testing.T) {
	h := newHarness(t)
	ada := someUser(t, h, "ada@example.com")
	enrolled(t, h, ada)
	sk := newSoftKey(t)
	sk.user = ada
	reg, _ := h.App.BeginPasskeyRegistration(t.Context(), env, ada, rp)
	if _, err := h.App.FinishPasskeyRegistration(t.Context(), app.FinishPasskey{Environment: env, UserID: ada, RP: rp,
		State: reg.State, Response: sk.create(reg.Options), Name: "Phone", Browser: someone, MultiFactor: true}); err != nil {
		t.Fatalf("register: %v", err)
	}
	req := app.ResetFactors{Environment: env, UserID: ada}
	if _, err := h.App.ResetFactors(t.Context(), req, domain.Actor{Kind: domain.ActorUser, ID: ada}); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a user's own reset: %v", err)
	}
	if _, err := h.App.ResetFactors(t.Context(), app.ResetFactors{Environment: "elsewhere-test", UserID: ada}, apptest.Operator); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("through another environment: %v", err)
	}
	done, err := h.App.ResetFactors(t.Context(), req, apptest.Operator)
	if err != nil || len(done.Removed) != 2 || done.Position == 0 {
		t.Fatalf("reset: %+v %v", done, err)
	}
	if f, _ := h.App.Factors(t.Context(), env, ada); len(f.List) != 0 || f.Active {
		t.Errorf("after the reset: %+v", f)
	}
	if _, err := h.App.ResetFactors(t.Context(), req, apptest.Operator); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("nothing to reset: %v", err)
	}
}
