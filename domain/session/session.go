// Package session is the server-side login session aggregate: created at login (the browser
// holds a random token in a cookie; only its SHA-256 is stored), touched at most once a
// minute while used, revoked at logout. A revoked or expired session authorizes nothing.
package session

import (
	"time"

	"github.com/paylent/paylent/domain"
)

// TouchEvery is the least time between two recorded touches of a session.
const TouchEvery = time.Minute

// ID is a session's id, derived from its token's hash.
func ID(tokenHash string) string {
	if len(tokenHash) > 32 {
		return tokenHash[:32]
	}
	return tokenHash
}

// Stream is the session's stream.
func Stream(env, id string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "session/" + env + "/" + id}
}

// Started records a login.
type Started struct {
	SessionID string    `json:"session_id"`
	UserID    string    `json:"user_id"`
	TokenHash string    `json:"token_hash"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	AuthTime  time.Time `json:"auth_time"`
	ExpiresAt time.Time `json:"expires_at"`
	// AMR are the methods the person proved themselves with (RFC 8176: "pwd", "otp",
	// "mfa", ...); ACR the level they reach (ACRPassword, ACRMultiFactor). Version 1 events
	// have neither: a password alone.
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
}

// EventType implements domain.Event.
func (Started) EventType() string { return "session.started" }

// Authentication context classes (the ID token's acr).
const (
	// ACRPassword: a password alone.
	ACRPassword = "urn:paylent:acr:pwd"
	// ACRMultiFactor: a password and a second factor (authenticator app or recovery code),
	// or a passkey with user verification.
	ACRMultiFactor = "urn:paylent:acr:mfa"
)

// Authentication methods (RFC 8176).
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
	AMRMulti    = "mfa"
	// AMRHardwareKey and AMRSoftwareKey: a passkey bound to its device, or a synced one.
	AMRHardwareKey = "hwk"
	AMRSoftwareKey = "swk"
)

// Methods returns the session's amr and acr, with version 1 sessions' defaults.
func (s Started) Methods() ([]string, string) {
	if len(s.AMR) == 0 {
		return []string{AMRPassword}, ACRPassword
	}
	return s.AMR, s.ACR
}

// Touched records activity.
type Touched struct {
	At time.Time `json:"at"`
	IP string    `json:"ip,omitempty"`
}

// EventType implements domain.Event.
func (Touched) EventType() string { return "session.touched" }

// Revoked ends a session.
type Revoked struct {
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (Revoked) EventType() string { return "session.revoked" }

// Reasons a session ends.
const (
	ReasonLogout   = "logout"
	ReasonOperator = "revoked_by_operator"
	ReasonRelogin  = "replaced_by_login"
)

// State is a session folded from its events.
type State struct {
	Started      *Started
	LastActivity time.Time
	Revoked      bool
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		switch e := e.(type) {
		case Started:
			s.Started, s.LastActivity = &e, e.AuthTime
		case Touched:
			s.LastActivity = e.At
		case Revoked:
			s.Revoked = true
		}
	}
	return s
}

// Active reports whether the session may authorize anything at now.
func (s State) Active(now time.Time) bool {
	return s.Started != nil && !s.Revoked && now.Before(s.Started.ExpiresAt)
}

// Start records a new session (its stream is new: the token is random).
type Start struct {
	Environment string
	Session     Started
}

// Streams implements domain.Command.
func (c Start) Streams() []domain.StreamRef {
	ref := Stream(c.Environment, c.Session.SessionID)
	ref.Fresh = true
	return []domain.StreamRef{ref}
}

// Decide implements domain.Command.
func (c Start) Decide(_ [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	s := c.Session
	switch {
	case len(s.TokenHash) != 64 || s.SessionID != ID(s.TokenHash):
		return nil, domain.Invalid("token_hash", "must be the SHA-256 of the session token, with the id derived from it")
	case s.UserID == "":
		return nil, domain.Invalid("user_id", "required")
	case !s.ExpiresAt.After(now):
		return nil, domain.Invalid("expires_at", "must be in the future")
	}
	return [][]domain.Event{{s}}, nil
}

// Touch records activity, at most once per TouchEvery.
type Touch struct {
	Environment string
	SessionID   string
	IP          string
}

// Streams implements domain.Command.
func (c Touch) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.SessionID)}
}

// Decide implements domain.Command.
func (c Touch) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	if !s.Active(now) {
		return nil, domain.ErrNotFound
	}
	if now.Sub(s.LastActivity) < TouchEvery {
		return [][]domain.Event{nil}, nil
	}
	return [][]domain.Event{{Touched{At: now, IP: c.IP}}}, nil
}

// Revoke ends a session; revoking twice appends nothing.
type Revoke struct {
	Environment string
	SessionID   string
	Reason      string
}

// Streams implements domain.Command.
func (c Revoke) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.SessionID)}
}

// Decide implements domain.Command.
func (c Revoke) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	if s.Started == nil {
		return nil, domain.ErrNotFound
	}
	if s.Revoked {
		return [][]domain.Event{nil}, nil
	}
	return [][]domain.Event{{Revoked{Reason: c.Reason}}}, nil
}

// RevokeAll revokes several sessions at once (a user disabled or deleted): one atomic
// append, so either every session ends or none does. Sessions already revoked, or unknown,
// are left as they are.
type RevokeAll struct {
	Environment string
	SessionIDs  []string
	Reason      string
}

// Streams implements domain.Command.
func (c RevokeAll) Streams() []domain.StreamRef {
	refs := make([]domain.StreamRef, len(c.SessionIDs))
	for i, id := range c.SessionIDs {
		refs[i] = Stream(c.Environment, id)
	}
	return refs
}

// Decide implements domain.Command.
func (c RevokeAll) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	out := make([][]domain.Event, len(h))
	for i, history := range h {
		if s := Fold(history); s.Started != nil && !s.Revoked {
			out[i] = []domain.Event{Revoked{Reason: c.Reason}}
		}
	}
	return out, nil
}
