// Package factor is a user's second factors, one stream per user: an authenticator app
// (TOTP, RFC 6238: pending until a first code confirms it) with its ten single-use recovery
// codes. A code is refused on replay (a time step at or before the last one used), and
// consecutive wrong codes lock the factors as wrong passwords lock a login (user.Lockout).
//
// Secrets never enter an event in clear: the TOTP seed arrives sealed with a key derived from
// the master key ("sealed:v1:…", sealed by the operations layer); recovery codes arrive as
// keyed hashes (RecoveryCodeHash). The domain computes no code: a decision is handed a
// Check that says whether the presented code belongs to a time (the operations layer opens
// the seed and asks github.com/pquerna/otp), and decides which step matched, whether it was
// used already, and whether the factors are locked.
package factor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
)

// Rules of the factors.
const (
	// Period is the TOTP time step (RFC 6238 §4: 30 s).
	Period = 30 * time.Second
	// Skew is how many steps before and after the current one a code may belong to
	// (RFC 6238 §5.2: one step of network delay either way).
	Skew = 1
	// RecoveryCodes is how many recovery codes a confirmed authenticator comes with.
	RecoveryCodes = 10
	// SealedPrefix starts every sealed seed.
	SealedPrefix = "sealed:v1:"
)

// Kinds of factor.
const (
	KindTOTP = "totp"
)

// Errors of the factors.
var (
	ErrNoFactor   = fmt.Errorf("no such second factor: %w", domain.ErrNotFound)
	ErrTOTPExists = domain.Exists("an authenticator app is already set up; remove it first")
	ErrLocked     = errors.New("too many wrong codes; wait a few minutes before trying again")
	ErrUserCannot = fmt.Errorf("the user does not exist or is disabled: %w", domain.ErrNotFound)
	// ErrStepUp: the factors of a user who has a second factor or a passkey change only from a
	// sign-in that proved one (MultiFactor); a password alone (a thief's, or a session from
	// before the factor was set up) adds, replaces and removes none.
	ErrStepUp      = domain.Forbidden("sign in with your authenticator app or a passkey first")
	errNotSealed   = domain.Invalid("secret", "must be sealed with the master key")
	errBadRecovery = domain.Invalid("recovery_codes", "must be %d keyed hashes", RecoveryCodes)
)

// Stream is the user's factors' stream.
func Stream(env, userID string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "factor/" + env + "/" + userID}
}

// Key derives the recovery-code hashing key from the master key.
func Key(masterKey []byte) []byte {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("paylent recovery code key v1"))
	return m.Sum(nil)
}

// NormalizeRecoveryCode is the form in which a recovery code is hashed: lower case, without
// spaces and hyphens (people type "ABCD-EFGH" or "abcd efgh").
func NormalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// RecoveryCodeHash is the keyed hash of a user's recovery code, as events hold it: an HMAC
// under the master-key-derived Key, so that whoever reads events cannot test guesses.
func RecoveryCodeHash(key []byte, env, userID, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(env + "\x00" + userID + "\x00" + NormalizeRecoveryCode(code)))
	return hex.EncodeToString(m.Sum(nil))
}

// Step is the TOTP time step of t (RFC 6238 §4.2: T = floor(unix time / 30)).
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// StepTime is the first instant of a step.
func StepTime(step int64) time.Time { return time.Unix(step*int64(Period/time.Second), 0).UTC() }

// Check says whether the presented code is the one of the step that starts at t.
type Check func(t time.Time) bool

// match is the step (within Skew of now) whose code the check accepts, newest first; 0 when
// none does.
func (c Check) match(now time.Time) int64 {
	if c == nil {
		return 0
	}
	cur := Step(now)
	for s := cur + Skew; s >= cur-Skew; s-- {
		if c(StepTime(s)) {
			return s
		}
	}
	return 0
}
