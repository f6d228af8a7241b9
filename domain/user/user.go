// Package user is the end-user aggregate of an environment: email (unique per environment,
// case-insensitive), name and password hash (Argon2id, in PHC string form with its
// parameters, computed outside the domain).
package user

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
)

// Stream is the user's stream.
func Stream(env, id string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "user/" + env + "/" + id}
}

// EmailStream is the stream that makes an email address unique in an environment; it is
// named by a hash so that the address never appears in a stream name.
func EmailStream(env, email string) domain.StreamRef {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return domain.StreamRef{Environment: env, Stream: "user-email/" + env + "/" + hex.EncodeToString(sum[:])}
}

// Created is the first event of a user.
type Created struct {
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	PasswordHash  string `json:"password_hash"`
	EmailVerified bool   `json:"email_verified"`
}

// EventType implements domain.Event.
func (Created) EventType() string { return "user.created" }

// EmailClaimed records on the email's stream which user holds the address.
type EmailClaimed struct {
	UserID string `json:"user_id"`
}

// EventType implements domain.Event.
func (EmailClaimed) EventType() string { return "user.email_claimed" }

// State is a user folded from its events.
type State struct {
	Exists        bool
	ID            string
	Email         string
	Name          string
	PasswordHash  string
	EmailVerified bool
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		if c, ok := e.(Created); ok {
			s = State{Exists: true, ID: c.UserID, Email: c.Email, Name: c.Name, PasswordHash: c.PasswordHash, EmailVerified: c.EmailVerified}
		}
	}
	return s
}

// ErrEmailTaken: another user of the environment has the address.
var ErrEmailTaken = domain.Exists("a user with this email already exists")

// Create creates a user. ID and PasswordHash come from the caller; the hash can only be
// made from a Password the policy accepted (NewPassword, then HashedPassword).
type Create struct {
	Environment   string
	ID            string
	Email         string
	Name          string
	PasswordHash  PasswordHash
	EmailVerified bool
}

// Streams implements domain.Command: the new user, then the email's claim.
func (c Create) Streams() []domain.StreamRef {
	return []domain.StreamRef{
		{Environment: c.Environment, Stream: Stream(c.Environment, c.ID).Stream, Fresh: true},
		EmailStream(c.Environment, c.Email),
		environment.Stream(c.Environment),
	}
}

// Decide implements domain.Command.
func (c Create) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	email := NormalizeEmail(c.Email)
	if err := ValidateEmail(email); err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(c.Name); n < 1 || n > 200 || !utf8.ValidString(c.Name) {
		return nil, domain.Invalid("name", "must be 1 to 200 characters")
	}
	if c.PasswordHash.IsZero() {
		return nil, domain.Invalid("password", "is required")
	}
	if !c.PasswordHash.For(email) {
		return nil, domain.Invalid("password", "was checked against another email address")
	}
	if len(c.ID) < 8 || len(c.ID) > 64 {
		return nil, domain.Invalid("user_id", "must be 8 to 64 characters")
	}
	if !environment.Fold(h[2]).Exists {
		return nil, domain.ErrNotFound
	}
	if emailTaken(h[1]) {
		return nil, ErrEmailTaken
	}
	return [][]domain.Event{
		{Created{UserID: c.ID, Email: email, Name: c.Name, PasswordHash: c.PasswordHash.PHC(), EmailVerified: c.EmailVerified}},
		{EmailClaimed{UserID: c.ID}},
		nil,
	}, nil
}

// NormalizeEmail is the form in which addresses are stored and compared: trimmed, lower case.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ValidateEmail checks a normalized address: one plain addr-spec, at most 254 bytes.
func ValidateEmail(email string) error {
	if len(email) < 3 || len(email) > 254 {
		return domain.Invalid("email", "must be 3 to 254 characters")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") && !strings.HasSuffix(email, "@localhost") {
		return domain.Invalid("email", "is not a valid email address")
	}
	return nil
}

// LoginFailed records a wrong password for the user (lockout counts these).
type LoginFailed struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// EventType implements domain.Event.
func (LoginFailed) EventType() string { return "user.login_failed" }

// RecordLoginFailure appends a failed login to the user's stream.
type RecordLoginFailure struct {
	Environment string
	UserID      string
	IP          string
	UserAgent   string
}

// Streams implements domain.Command. The stream is only appended to (a failure is a fact
// whatever happened before), so it is not read.
func (c RecordLoginFailure) Streams() []domain.StreamRef {
	ref := Stream(c.Environment, c.UserID)
	return []domain.StreamRef{ref}
}

// Decide implements domain.Command.
func (c RecordLoginFailure) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if s := FoldAll(h[0]); !s.Exists || s.Deleted {
		return nil, domain.ErrNotFound
	}
	return [][]domain.Event{{LoginFailed{IP: c.IP, UserAgent: c.UserAgent}}}, nil
}

// LockoutAfter is how many consecutive failures from one source (an IP address) lock the
// account for that source.
const LockoutAfter = 5

// GlobalLockoutAfter is how many consecutive failures from all sources together lock the
// account for everyone: guessing spread over many addresses still ends.
const GlobalLockoutAfter = 100

// MaxFailureSources bounds how many sources an account's failures are kept for; beyond it
// the oldest source is forgotten (its failures still count in the global total).
const MaxFailureSources = 16

// Failures are consecutive failed logins: their number and the latest one's time.
type Failures struct {
	Count int       `json:"count"`
	Last  time.Time `json:"last"`
}

// LoginFailures are an account's consecutive failed logins, in total and per source. A
// stranger who knows an address can lock it only for their own source (after LockoutAfter
// wrong passwords), not for the account's owner; only GlobalLockoutAfter failures from
// everywhere lock everyone out.
type LoginFailures struct {
	Total    Failures            `json:"total"`
	BySource map[string]Failures `json:"by_source,omitempty"`
}

// Add returns the failures after one more from source at at (a copy: the receiver is not
// changed), keeping at most MaxFailureSources sources.
func (f LoginFailures) Add(source string, at time.Time) LoginFailures {
	out := LoginFailures{Total: Failures{Count: f.Total.Count + 1, Last: at}, BySource: make(map[string]Failures, len(f.BySource)+1)}
	for k, v := range f.BySource {
		out.BySource[k] = v
	}
	cur := out.BySource[source]
	out.BySource[source] = Failures{Count: cur.Count + 1, Last: at}
	for len(out.BySource) > MaxFailureSources {
		oldest := ""
		for k, v := range out.BySource {
			if k != source && (oldest == "" || v.Last.Before(out.BySource[oldest].Last) ||
				(v.Last.Equal(out.BySource[oldest].Last) && k < oldest)) {
				oldest = k
			}
		}
		delete(out.BySource, oldest)
	}
	return out
}

// LockedFor is when the account unlocks for a login from source (zero or past: not locked).
func (f LoginFailures) LockedFor(source string) time.Time {
	until := Lockout(f.BySource[source].Count, f.BySource[source].Last)
	if g := globalLockout(f.Total); g.After(until) {
		until = g
	}
	return until
}

// Locked is the latest time the account unlocks for any source, and which ("" for every
// source): what an operator is shown.
func (f LoginFailures) Locked() (time.Time, string) {
	until, who := globalLockout(f.Total), ""
	for _, src := range slices.Sorted(maps.Keys(f.BySource)) {
		if t := Lockout(f.BySource[src].Count, f.BySource[src].Last); t.After(until) {
			until, who = t, src
		}
	}
	return until, who
}

func globalLockout(f Failures) time.Time {
	if f.Count < GlobalLockoutAfter {
		return time.Time{}
	}
	return Lockout(LockoutAfter+f.Count-GlobalLockoutAfter, f.Last)
}

// Lockout is how long a lock lasts after failures consecutive failed logins, the last one
// at last: from the fifth failure on, one minute, doubling with each further one, at most
// fifteen minutes. It returns the time the lock ends (zero: not locked).
func Lockout(failures int, last time.Time) time.Time {
	if failures < LockoutAfter {
		return time.Time{}
	}
	d := time.Minute << min(failures-LockoutAfter, 4)
	return last.Add(min(d, 15*time.Minute))
}

// Updated changes a user's name.
type Updated struct {
	Name string `json:"name"`
}

// EventType implements domain.Event.
func (Updated) EventType() string { return "user.updated" }

// Disabled stops a user from signing in (their sessions are revoked with it).
type Disabled struct{}

// EventType implements domain.Event.
func (Disabled) EventType() string { return "user.disabled" }

// Enabled lets a disabled user sign in again.
type Enabled struct{}

// EventType implements domain.Event.
func (Enabled) EventType() string { return "user.enabled" }

// Deleted removes a user; the email's stream records the release so the address can be
// registered again.
type Deleted struct{}

// EventType implements domain.Event.
func (Deleted) EventType() string { return "user.deleted" }

// PasswordChanged records a user's new password (sealed, as in Created). Every session and
// grant the user held is revoked in the same append (access.ChangePassword); At is when
// (to the microsecond, as sessions are timed; to the second in events written before
// 2026-12-03): a grant whose authentication is older no longer refreshes or redeems.
type PasswordChanged struct {
	PasswordHash string    `json:"password_hash"`
	At           time.Time `json:"at"`
}

// EventType implements domain.Event.
func (PasswordChanged) EventType() string { return "user.password_changed" }

// SignInsEnded records that every authentication of the user up to At no longer counts,
// although the password stays: an operator reset the user's second factors or passkeys
// (Reason), so whoever held a lost device may have signed in with it. The user's sessions
// and grants are revoked in the same append (access.ResetFactors); a code or a grant whose
// authentication is at or before At is neither redeemed nor refreshed afterwards.
type SignInsEnded struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// EventType implements domain.Event.
func (SignInsEnded) EventType() string { return "user.sign_ins_ended" }

// EmailReleased frees an address after its user was deleted.
type EmailReleased struct {
	UserID string `json:"user_id"`
}

// EventType implements domain.Event.
func (EmailReleased) EventType() string { return "user.email_released" }

// EmailTaken reads an email stream: taken unless its last event is a release.
func EmailTaken(history []domain.Event) bool { return emailTaken(history) }

func emailTaken(history []domain.Event) bool {
	if len(history) == 0 {
		return false
	}
	_, released := history[len(history)-1].(EmailReleased)
	return !released
}

// Change renames or re-enables a user. Disabling and deleting end access and are
// access.EndUser's.
type Change struct {
	Environment string
	UserID      string
	Name        *string
	Disable     *bool
	Delete      bool
}

// Streams implements domain.Command: the user, then (for a delete) the email's stream,
// which the caller names because it knows the address.
func (c Change) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.UserID)}
}

// Decide implements domain.Command.
func (c Change) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	s := FoldAll(h[0])
	if !s.Exists || s.Deleted {
		return nil, domain.ErrNotFound
	}
	var out []domain.Event
	if c.Name != nil && *c.Name != s.Name {
		if n := utf8.RuneCountInString(*c.Name); n < 1 || n > 200 {
			return nil, domain.Invalid("name", "must be 1 to 200 characters")
		}
		out = append(out, Updated{Name: *c.Name})
	}
	if c.Disable != nil && *c.Disable {
		// Disabling must end the user's sessions and grants in the same append: that is
		// access.EndUser, the only decision that emits Disabled.
		return nil, domain.Invalid("disabled", "a user is disabled by ending their access (access.EndUser)")
	}
	if c.Disable != nil && !*c.Disable && s.Disabled {
		out = append(out, Enabled{})
	}
	return [][]domain.Event{out}, nil
}

// FullState is a user with its lifecycle.
type FullState struct {
	State
	Disabled bool
	Deleted  bool
	// PasswordChangedAt is the last password change (zero: never changed).
	PasswordChangedAt time.Time
	// SignInsEndedAt is the last end of every sign-in (zero: none; see SignInsEnded).
	SignInsEndedAt time.Time
}

// AuthenticationStands reports whether an authentication at authTime still counts: it is
// not older than the last password change, nor at or before the last end of sign-ins
// (which a sign-in in the same instant cannot be told apart from).
func (s FullState) AuthenticationStands(authTime time.Time) bool {
	if authTime.Before(s.PasswordChangedAt) {
		return false
	}
	return s.SignInsEndedAt.IsZero() || authTime.After(s.SignInsEndedAt)
}

// FoldAll folds every user event.
func FoldAll(history []domain.Event) FullState {
	var s FullState
	for _, e := range history {
		switch e := e.(type) {
		case Created:
			s.State = Fold([]domain.Event{e})
		case Updated:
			s.Name = e.Name
		case Disabled:
			s.Disabled = true
		case Enabled:
			s.Disabled = false
		case Deleted:
			s.Deleted = true
		case PasswordChanged:
			s.PasswordHash, s.PasswordChangedAt = e.PasswordHash, e.At
		case PasswordRehashed:
			s.PasswordHash = e.PasswordHash
		case SignInsEnded:
			if e.At.After(s.SignInsEndedAt) {
				s.SignInsEndedAt = e.At
			}
		}
	}
	return s
}
