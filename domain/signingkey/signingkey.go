package signingkey

import (
	"encoding/json"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
)

// Alg is the default JWS algorithm of signing keys (an environment's own is
// environment.State.SigningAlg: RS256 or ES256).
const Alg = environment.SigningRS256

// Stream is the signing key stream of an environment.
func Stream(env string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "signing_key/" + env}
}

// Role is what a key is for.
type Role string

// Roles. A key is created as next, promoted to primary, and retired by the next promotion.
const (
	RolePrimary Role = "primary"
	RoleNext    Role = "next"
	RoleRetired Role = "retired"
)

// Created adds a key as the next one. Alg is its environment's signing algorithm (RS256 in
// every v1 event; ES256 keys exist from schema v2 on). PrivateKey is the PKCS#8 DER private key sealed with
// the master key (Seal: nonce ‖ AES-256-GCM ciphertext; base64 in JSON).
type Created struct {
	KID        string          `json:"kid"`
	Alg        string          `json:"alg"`
	PublicJWK  json.RawMessage `json:"public_jwk"`
	PrivateKey []byte          `json:"private_key"`
	Role       Role            `json:"role"`
}

// EventType implements domain.Event.
func (Created) EventType() string { return "signing_key.created" }

// Promoted makes a key the primary: from now on it signs. The previous primary is retired
// by the Retired event that follows in the same append.
type Promoted struct {
	KID string `json:"kid"`
}

// EventType implements domain.Event.
func (Promoted) EventType() string { return "signing_key.promoted" }

// Retired stops a key from signing; it stays published for verification until VerifyUntil
// (retirement + the longest lifetime of a token it may have signed).
type Retired struct {
	KID         string    `json:"kid"`
	VerifyUntil time.Time `json:"verify_until"`
}

// EventType implements domain.Event.
func (Retired) EventType() string { return "signing_key.retired" }

// Key is one key as the aggregate knows it.
type Key struct {
	KID         string
	Alg         string
	Role        Role
	VerifyUntil time.Time // retired keys only
}

// State is an environment's keys folded from their stream.
type State struct {
	Keys    map[string]Key
	Primary string // kid of the primary, "" before the first promotion
	Next    string // kid of the next key, "" when there is none
	// Alg is the algorithm of the latest key created ("" before the first): the one the
	// environment's next keys must have too (the environment's stream is the authority).
	Alg string
}

// Complete reports whether there is a primary and a next key. Once complete, a stream stays
// complete: rotation always leaves both.
func (s State) Complete() bool { return s.Primary != "" && s.Next != "" }

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	s := State{Keys: map[string]Key{}}
	for _, e := range history {
		s = s.Apply(e)
	}
	return s
}

// Apply returns the state after e. It changes s's map in place: use the returned state.
func (s State) Apply(e domain.Event) State {
	if s.Keys == nil {
		s.Keys = map[string]Key{}
	}
	switch e := e.(type) {
	case Created:
		s.Alg = environment.SigningAlgOf(e.Alg)
		s.Keys[e.KID] = Key{KID: e.KID, Alg: s.Alg, Role: RoleNext}
		s.Next = e.KID
	case Promoted:
		k := s.Keys[e.KID]
		k.KID, k.Role = e.KID, RolePrimary
		s.Keys[e.KID] = k
		s.Primary = e.KID
		if s.Next == e.KID {
			s.Next = ""
		}
	case Retired:
		k := s.Keys[e.KID]
		k.KID, k.Role, k.VerifyUntil = e.KID, RoleRetired, e.VerifyUntil
		s.Keys[e.KID] = k
		if s.Primary == e.KID {
			s.Primary = ""
		}
		if s.Next == e.KID {
			s.Next = ""
		}
	}
	return s
}
