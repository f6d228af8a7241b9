// Package recovery is account recovery by mail: an address gets a 6-digit passcode (valid
// 10 minutes, 5 attempts), the passcode gives a short-lived recovery token, and the token
// with a new password sets it and ends every session and grant of the user
// (access.ChangePassword, in the same append).
//
// The rules are registration's: the passcode never enters an event, not even hashed (it is
// derived from a server key and the recovery: see Passcode), and an unknown address gets
// the same answer and costs the same work (one event, Existing false, no mail, and no code
// that could ever verify).
package recovery

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/user"
)

// Rules of the flow.
const (
	PasscodeLifetime = 10 * time.Minute
	MaxAttempts      = 5
	TokenLifetime    = 15 * time.Minute
)

// Errors of the flow.
var (
	ErrExpired   = fmt.Errorf("the recovery code has expired or was tried too often; ask for a new one: %w", domain.ErrInvalid)
	ErrWrongCode = fmt.Errorf("the recovery code is wrong: %w", domain.ErrInvalid)
	ErrBadToken  = fmt.Errorf("the recovery token is invalid or has expired: %w", domain.ErrInvalid)
)

// Stream is a recovery's stream.
func Stream(env, id string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "recovery/" + env + "/" + id}
}

// Started records a recovery request for an address. Existing is true when the address
// belongs to a user who may recover (not disabled): only then is a mail sent, and only then
// can a code verify. UserID names that user.
type Started struct {
	RecoveryID string    `json:"recovery_id"`
	Email      string    `json:"email"`
	Existing   bool      `json:"existing"`
	UserID     string    `json:"user_id,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// EventType implements domain.Event.
func (Started) EventType() string { return "recovery.started" }

// PasscodeFailed records a wrong code.
type PasscodeFailed struct{}

// EventType implements domain.Event.
func (PasscodeFailed) EventType() string { return "recovery.passcode_failed" }

// Verified records the right code; TokenHash is the SHA-256 of the recovery token.
type Verified struct {
	TokenHash string    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// EventType implements domain.Event.
func (Verified) EventType() string { return "recovery.verified" }

// Completed records that the user's password was set (user.password_changed is in the
// same append).
type Completed struct {
	UserID string `json:"user_id"`
}

// EventType implements domain.Event.
func (Completed) EventType() string { return "recovery.completed" }

// State is a recovery folded from its events.
type State struct {
	Started   *Started
	Failures  int
	Verified  *Verified
	Completed bool
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		switch e := e.(type) {
		case Started:
			s.Started = &e
		case PasscodeFailed:
			s.Failures++
		case Verified:
			s.Verified = &e
		case Completed:
			s.Completed = true
		}
	}
	return s
}

// Passcode derives a recovery's 6-digit code from the server key (registration.Key: the
// label below keeps recovery codes apart from sign-up codes).
func Passcode(key []byte, env, recoveryID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("paylent recovery passcode v1\x00" + env + "\x00" + recoveryID))
	n := binary.BigEndian.Uint64(m.Sum(nil)[:8]) % 1_000_000
	return fmt.Sprintf("%06d", n)
}

// Start begins a recovery for an address. UserID is the user the caller's read model holds
// for it ("" for none); the decision checks the address's claim and the user's standing, so
// a wrong id only makes the recovery one that sends nothing and verifies nothing.
type Start struct {
	Environment string
	RecoveryID  string
	Email       string
	UserID      string
}

// Streams implements domain.Command: the recovery (new), the address's claim, and the user
// when one is named.
func (c Start) Streams() []domain.StreamRef {
	ref := Stream(c.Environment, c.RecoveryID)
	ref.Fresh = true
	refs := []domain.StreamRef{ref, user.EmailStream(c.Environment, c.Email)}
	if c.UserID != "" {
		refs = append(refs, user.Stream(c.Environment, c.UserID))
	}
	return refs
}

// Decide implements domain.Command.
func (c Start) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	email := user.NormalizeEmail(c.Email)
	if err := user.ValidateEmail(email); err != nil {
		return nil, err
	}
	if len(c.RecoveryID) < 16 {
		return nil, domain.Invalid("recovery_id", "too short")
	}
	started := Started{RecoveryID: c.RecoveryID, Email: email, ExpiresAt: now.Add(PasscodeLifetime)}
	if c.UserID != "" && claimedBy(h[1]) == c.UserID {
		if u := user.FoldAll(h[2]); u.Exists && !u.Deleted && !u.Disabled && u.Email == email {
			started.Existing, started.UserID = true, c.UserID
		}
	}
	out := make([][]domain.Event, len(h))
	out[0] = []domain.Event{started}
	return out, nil
}

// claimedBy is the user holding an address ("" when it is free).
func claimedBy(history []domain.Event) string {
	if !user.EmailTaken(history) {
		return ""
	}
	if c, ok := history[len(history)-1].(user.EmailClaimed); ok {
		return c.UserID
	}
	return ""
}

// Verify checks a code. A wrong one is recorded (and counts against the attempts); the
// right one within the limits records the recovery token's hash.
type Verify struct {
	Environment string
	RecoveryID  string
	Passcode    string
	Key         []byte
	TokenHash   string // of the recovery token the caller will hand out
}

// Streams implements domain.Command.
func (c Verify) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.RecoveryID)}
}

// Decide implements domain.Command. A wrong code returns its event and no error: the
// caller sees PasscodeFailed among the events. A recovery for an unknown address never
// verifies: every code is wrong.
func (c Verify) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	switch {
	case s.Started == nil:
		return nil, domain.ErrNotFound
	case s.Completed || s.Verified != nil || s.Failures >= MaxAttempts || !now.Before(s.Started.ExpiresAt):
		return nil, ErrExpired
	}
	want := Passcode(c.Key, c.Environment, c.RecoveryID)
	if !s.Started.Existing || subtle.ConstantTimeCompare([]byte(want), []byte(c.Passcode)) != 1 {
		return [][]domain.Event{{PasscodeFailed{}}}, nil
	}
	return [][]domain.Event{{Verified{TokenHash: c.TokenHash, ExpiresAt: now.Add(TokenLifetime)}}}, nil
}

// Complete sets the new password of a verified recovery's user and ends everything they
// held: access.ChangePassword, whose sessions and grants the caller names.
type Complete struct {
	RecoveryID string
	TokenHash  string
	Change     access.ChangePassword
}

// Streams implements domain.Command: the recovery, then the change's streams.
func (c Complete) Streams() []domain.StreamRef {
	return append([]domain.StreamRef{Stream(c.Change.Environment, c.RecoveryID)}, c.Change.Streams()...)
}

// Decide implements domain.Command.
func (c Complete) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	if s.Started == nil || !s.Started.Existing || s.Verified == nil || s.Completed || !now.Before(s.Verified.ExpiresAt) ||
		subtle.ConstantTimeCompare([]byte(s.Verified.TokenHash), []byte(c.TokenHash)) != 1 {
		return nil, ErrBadToken
	}
	if c.Change.UserID != s.Started.UserID {
		return nil, ErrBadToken
	}
	changed, err := c.Change.Decide(h[1:], now)
	if err != nil {
		return nil, err
	}
	return append([][]domain.Event{{Completed{UserID: s.Started.UserID}}}, changed...), nil
}
