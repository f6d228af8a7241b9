// Package authcode is the authorization code aggregate (RFC 6749 §4.1): issued after
// consent, single use, 60 seconds, bound to its client, redirect URI, PKCE challenge,
// nonce, scopes, user and session. The code itself never enters an event: its SHA-256 does.
package authcode

import (
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/oauth"
)

// Lifetime is how long a code can be redeemed.
const Lifetime = 60 * time.Second

// Stream is the code's stream, named by its hash (any instance finds it from the code).
func Stream(env, codeHash string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "authcode/" + env + "/" + id(codeHash)}
}

func id(codeHash string) string {
	if len(codeHash) > 32 {
		return codeHash[:32]
	}
	return codeHash
}

// GrantID is the grant that redeeming the code creates, derived from the code so that a
// replayed redemption knows which grant to revoke.
func GrantID(codeHash string) string { return "g" + id(codeHash) }

// Issued records a code.
type Issued struct {
	CodeHash      string    `json:"code_hash"`
	ClientID      string    `json:"client_id"`
	RedirectURI   string    `json:"redirect_uri"`
	Scope         string    `json:"scope"`
	UserID        string    `json:"user_id"`
	SessionID     string    `json:"session_id"`
	Nonce         string    `json:"nonce,omitempty"`
	Challenge     string    `json:"code_challenge,omitempty"`
	AuthTime      time.Time `json:"auth_time"`
	ExpiresAt     time.Time `json:"expires_at"`
	RedirectGiven bool      `json:"redirect_uri_given"`
	// Resources are the RFC 8707 resource indicators of the authorization request.
	Resources []string `json:"resources,omitempty"`
	// AMR and ACR are how the session's person signed in (session.Started); version 1
	// codes have neither (a password).
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
}

// EventType implements domain.Event.
func (Issued) EventType() string { return "authcode.issued" }

// Redeemed records the single use of a code.
type Redeemed struct {
	GrantID string `json:"grant_id"`
}

// EventType implements domain.Event.
func (Redeemed) EventType() string { return "authcode.redeemed" }

// ReplayDetected records a second redemption attempt; its grant is revoked with it.
type ReplayDetected struct {
	ClientID string `json:"client_id"`
}

// EventType implements domain.Event.
func (ReplayDetected) EventType() string { return "authcode.replay_detected" }

// State is a code folded from its events.
type State struct {
	Issued   *Issued
	Redeemed bool
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		switch e := e.(type) {
		case Issued:
			s.Issued = &e
		case Redeemed:
			s.Redeemed = true
		}
	}
	return s
}

// Issue records a new code.
type Issue struct {
	Environment string
	Code        Issued
}

// Streams implements domain.Command.
func (c Issue) Streams() []domain.StreamRef {
	ref := Stream(c.Environment, c.Code.CodeHash)
	ref.Fresh = true
	return []domain.StreamRef{ref}
}

// Decide implements domain.Command.
func (c Issue) Decide(_ [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	code := c.Code
	switch {
	case len(code.CodeHash) != 64:
		return nil, domain.Invalid("code_hash", "must be a hex SHA-256 digest")
	case code.ClientID == "" || code.UserID == "" || code.RedirectURI == "":
		return nil, domain.Invalid("code", "client, user and redirect URI are required")
	case code.Challenge != "" && !oauth.ValidPKCEValue(code.Challenge):
		return nil, domain.Invalid("code_challenge", "must be an S256 challenge")
	}
	code.ExpiresAt = now.Add(Lifetime)
	return [][]domain.Event{{code}}, nil
}

// Check tells why a presented code cannot be redeemed by a client, or "" when it can:
// unknown, expired, another client's, another redirect URI, or a failed PKCE check.
// Redemption itself (single use) is decided by grant.Redeem against the code's history.
func Check(s State, clientID, redirectURI, verifier string, public bool, now time.Time) string {
	i := s.Issued
	switch {
	case i == nil:
		return "the authorization code is invalid"
	case !now.Before(i.ExpiresAt):
		return "the authorization code has expired"
	case i.ClientID != clientID:
		return "the authorization code was issued to another client"
	case i.RedirectGiven && i.RedirectURI != redirectURI:
		return "redirect_uri does not match the authorization request"
	case i.Challenge == "" && verifier != "":
		return "code_verifier given but the authorization request had no code_challenge"
	case i.Challenge == "" && public:
		return "public clients must use PKCE"
	case i.Challenge != "" && !oauth.VerifyPKCE(i.Challenge, verifier):
		return "code_verifier does not match the code_challenge"
	}
	return ""
}
