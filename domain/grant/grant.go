// Package grant is the refresh-token family aggregate: what a user granted a client by
// redeeming one authorization code, every token issued under it, the refresh token that is
// current, and whether it was revoked. Refresh tokens rotate on every use; presenting a
// rotated one again is reuse and revokes the whole family (RFC 9700 §4.14.2), except within
// the client's retry window, where the same new refresh token is returned again.
package grant

import (
	"time"

	"github.com/paylent/paylent/domain"
)

// Stream is the grant's stream.
func Stream(env, id string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "grant/" + env + "/" + id}
}

// TokenRef is a token issued under a grant, as revocations list them (resource servers keep
// revoked jtis until they expire).
type TokenRef struct {
	JTI       string    `json:"jti"`
	Kind      string    `json:"kind"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Created starts a grant (a code was redeemed).
type Created struct {
	GrantID   string     `json:"grant_id"`
	ClientID  string     `json:"client_id"`
	UserID    string     `json:"user_id"`
	Scope     string     `json:"scope"`
	SessionID string     `json:"session_id"`
	AuthTime  time.Time  `json:"auth_time"`
	Refresh   string     `json:"refresh_jti,omitempty"`
	Tokens    []TokenRef `json:"tokens"`
	// AMR and ACR are the code's (version 1 grants have neither: a password).
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
}

// EventType implements domain.Event.
func (Created) EventType() string { return "grant.created" }

// Rotated records a refresh: From is no longer current; Tokens were issued.
type Rotated struct {
	From    string     `json:"from_refresh_jti"`
	Refresh string     `json:"refresh_jti"`
	Tokens  []TokenRef `json:"tokens"`
	At      time.Time  `json:"at"`
}

// EventType implements domain.Event.
func (Rotated) EventType() string { return "grant.rotated" }

// RotationRetried records a just-rotated refresh token presented again within the client's
// retry window: the same new refresh token was returned, with a new access token.
type RotationRetried struct {
	From   string     `json:"from_refresh_jti"`
	Tokens []TokenRef `json:"tokens"`
}

// EventType implements domain.Event.
func (RotationRetried) EventType() string { return "grant.rotation_retried" }

// ReuseDetected records a rotated refresh token presented again: the grant is revoked in the
// same decision.
type ReuseDetected struct {
	RefreshJTI string `json:"refresh_jti"`
}

// EventType implements domain.Event.
func (ReuseDetected) EventType() string { return "grant.reuse_detected" }

// Revoked ends a grant and every token issued under it.
type Revoked struct {
	Reason string     `json:"reason"`
	Tokens []TokenRef `json:"tokens"`
}

// EventType implements domain.Event.
func (Revoked) EventType() string { return "grant.revoked" }

// Revocation reasons.
const (
	ReasonClient     = "revoked_by_client"
	ReasonReuse      = "refresh_token_reuse"
	ReasonCodeReplay = "authorization_code_replay"
	ReasonOperator   = "revoked_by_operator"
)

// State is a grant folded from its events.
type State struct {
	Exists    bool
	Revoked   bool
	ID        string
	ClientID  string
	UserID    string
	Scope     string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	Current   string    // current refresh token's jti
	Previous  string    // the refresh token rotated most recently
	RotatedAt time.Time // when Previous was rotated
	Tokens    []TokenRef
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		s = s.Apply(e)
	}
	return s
}

// Apply returns the state after e.
func (s State) Apply(e domain.Event) State {
	switch e := e.(type) {
	case Created:
		s = State{Exists: true, ID: e.GrantID, ClientID: e.ClientID, UserID: e.UserID, Scope: e.Scope,
			SessionID: e.SessionID, AuthTime: e.AuthTime, AMR: e.AMR, ACR: e.ACR, Current: e.Refresh, Tokens: append([]TokenRef(nil), e.Tokens...)}
	case Rotated:
		s.Previous, s.RotatedAt, s.Current = e.From, e.At, e.Refresh
		s.Tokens = append(s.Tokens, e.Tokens...)
	case RotationRetried:
		s.Tokens = append(s.Tokens, e.Tokens...)
	case Revoked:
		s.Revoked = true
	}
	return s
}

// Live lists the tokens that have not expired at now (what a revocation must name).
func (s State) Live(now time.Time) []TokenRef {
	var out []TokenRef
	for _, t := range s.Tokens {
		if t.ExpiresAt.After(now) {
			out = append(out, t)
		}
	}
	return out
}
