// Package registration is self-service sign-up: an email gets a 6-digit passcode (valid 10
// minutes, 5 attempts), the passcode gives a short-lived registration token, and the token
// with a name and password creates the user.
//
// The passcode never enters an event, not even hashed: a 6-digit value's hash is guessed in a
// million tries. It is derived from a server key and the registration (see Passcode), so the
// mailer and the verifier compute it and the log holds only the registration.
package registration

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
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
	ErrDisabled   = domain.Invalid("registration", "registration is disabled in this environment")
	ErrExpired    = fmt.Errorf("the passcode has expired or was tried too often; ask for a new one: %w", domain.ErrInvalid)
	ErrWrongCode  = fmt.Errorf("the passcode is wrong: %w", domain.ErrInvalid)
	ErrBadToken   = fmt.Errorf("the registration token is invalid or has expired: %w", domain.ErrInvalid)
	ErrEmailTaken = user.ErrEmailTaken
)

// Stream is a registration's stream.
func Stream(env, id string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "registration/" + env + "/" + id}
}

// Started records a sign-up request. Existing is true when the email already has an account:
// the requester gets the same answer, and the mail says "you already have an account".
type Started struct {
	RegistrationID string    `json:"registration_id"`
	Email          string    `json:"email"`
	Existing       bool      `json:"existing"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// EventType implements domain.Event.
func (Started) EventType() string { return "registration.started" }

// PasscodeFailed records a wrong passcode.
type PasscodeFailed struct{}

// EventType implements domain.Event.
func (PasscodeFailed) EventType() string { return "registration.passcode_failed" }

// Verified records the right passcode; TokenHash is the SHA-256 of the registration token.
type Verified struct {
	TokenHash string    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// EventType implements domain.Event.
func (Verified) EventType() string { return "registration.verified" }

// Completed records the user it created.
type Completed struct {
	UserID string `json:"user_id"`
}

// EventType implements domain.Event.
func (Completed) EventType() string { return "registration.completed" }

// State is a registration folded from its events.
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

// Passcode derives a registration's 6-digit passcode from the server key.
func Passcode(key []byte, env, registrationID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("paylent passcode v1\x00" + env + "\x00" + registrationID))
	n := binary.BigEndian.Uint64(m.Sum(nil)[:8]) % 1_000_000
	return fmt.Sprintf("%06d", n)
}

// Start begins a registration for an email.
type Start struct {
	Environment    string
	RegistrationID string
	Email          string
}

// Streams implements domain.Command: the registration (new), the environment (is
// registration enabled?), the email's claim (is it taken?).
func (c Start) Streams() []domain.StreamRef {
	ref := Stream(c.Environment, c.RegistrationID)
	ref.Fresh = true
	return []domain.StreamRef{ref, environment.Stream(c.Environment), user.EmailStream(c.Environment, c.Email)}
}

// Decide implements domain.Command.
func (c Start) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	env := environment.Fold(h[1])
	if !env.Exists {
		return nil, domain.ErrNotFound
	}
	if !env.Settings.RegistrationEnabled {
		return nil, ErrDisabled
	}
	email := user.NormalizeEmail(c.Email)
	if err := user.ValidateEmail(email); err != nil {
		return nil, err
	}
	if len(c.RegistrationID) < 16 {
		return nil, domain.Invalid("registration_id", "too short")
	}
	return [][]domain.Event{{Started{RegistrationID: c.RegistrationID, Email: email, Existing: user.EmailTaken(h[2]),
		ExpiresAt: now.Add(PasscodeLifetime)}}, nil, nil}, nil
}

// Verify checks a passcode. A wrong one is recorded (and counts against the attempts); the
// right one within the limits records the registration token's hash.
type Verify struct {
	Environment    string
	RegistrationID string
	Passcode       string
	Key            []byte
	TokenHash      string // of the registration token the caller will hand out
}

// Streams implements domain.Command.
func (c Verify) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.RegistrationID)}
}

// Decide implements domain.Command. A wrong passcode returns its event and no error: the
// caller sees PasscodeFailed among the events.
func (c Verify) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	switch {
	case s.Started == nil:
		return nil, domain.ErrNotFound
	case s.Completed || s.Verified != nil || s.Failures >= MaxAttempts || !now.Before(s.Started.ExpiresAt):
		return nil, ErrExpired
	}
	want := Passcode(c.Key, c.Environment, c.RegistrationID)
	if s.Started.Existing || subtle.ConstantTimeCompare([]byte(want), []byte(c.Passcode)) != 1 {
		return [][]domain.Event{{PasscodeFailed{}}}, nil
	}
	return [][]domain.Event{{Verified{TokenHash: c.TokenHash, ExpiresAt: now.Add(TokenLifetime)}}}, nil
}

// Complete creates the user of a verified registration.
type Complete struct {
	Environment    string
	RegistrationID string
	TokenHash      string
	User           user.Create
}

// Streams implements domain.Command: the registration, then the user's streams.
func (c Complete) Streams() []domain.StreamRef {
	return append([]domain.StreamRef{Stream(c.Environment, c.RegistrationID)}, c.User.Streams()...)
}

// Decide implements domain.Command.
func (c Complete) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	if s.Verified == nil || s.Completed || !now.Before(s.Verified.ExpiresAt) ||
		subtle.ConstantTimeCompare([]byte(s.Verified.TokenHash), []byte(c.TokenHash)) != 1 {
		return nil, ErrBadToken
	}
	if user.NormalizeEmail(c.User.Email) != s.Started.Email {
		return nil, ErrBadToken
	}
	created, err := c.User.Decide(h[1:], now)
	if err != nil {
		return nil, err
	}
	return append([][]domain.Event{{Completed{UserID: c.User.ID}}}, created...), nil
}

// Key derives the passcode key from the master key (the mailer and the verifier share it).
func Key(masterKey []byte) []byte {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("paylent passcode key v1"))
	return m.Sum(nil)
}
