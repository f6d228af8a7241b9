package factor

import (
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/user"
)

// TOTPEnrolled records an authenticator app being set up: pending until confirmed. Secret
// is the seed sealed with the master key ("sealed:v1:…"), never the seed itself.
type TOTPEnrolled struct {
	FactorID string    `json:"factor_id"`
	Secret   string    `json:"secret"`
	At       time.Time `json:"at"`
}

// EventType implements domain.Event.
func (TOTPEnrolled) EventType() string { return "factor.totp_enrolled" }

// TOTPConfirmed records the first right code of a pending authenticator: it is now a second
// factor. Step is that code's time step (it cannot be used again); RecoveryCodes are the
// keyed hashes of the ten recovery codes shown once (RecoveryCodeHash).
type TOTPConfirmed struct {
	FactorID      string    `json:"factor_id"`
	Step          int64     `json:"step"`
	RecoveryCodes []string  `json:"recovery_codes"`
	At            time.Time `json:"at"`
}

// EventType implements domain.Event.
func (TOTPConfirmed) EventType() string { return "factor.totp_confirmed" }

// TOTPUsed records a sign-in with a code of the authenticator; Step is its time step, so
// that the same code (or an older one) is refused afterwards.
type TOTPUsed struct {
	FactorID string    `json:"factor_id"`
	Step     int64     `json:"step"`
	At       time.Time `json:"at"`
}

// EventType implements domain.Event.
func (TOTPUsed) EventType() string { return "factor.totp_used" }

// RecoveryCodeUsed records the single use of a recovery code (its keyed hash).
type RecoveryCodeUsed struct {
	CodeHash string    `json:"code_hash"`
	At       time.Time `json:"at"`
}

// EventType implements domain.Event.
func (RecoveryCodeUsed) EventType() string { return "factor.recovery_code_used" }

// Reasons a code fails.
const (
	FailureWrong    = "wrong_code"
	FailureReplayed = "replayed_code"
)

// CodeFailed records a wrong (or replayed) code: consecutive failures lock the factors.
// Kind says what was tried (KindTOTP, or "recovery_code").
type CodeFailed struct {
	Kind   string    `json:"kind"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// EventType implements domain.Event.
func (CodeFailed) EventType() string { return "factor.code_failed" }

// Reasons a factor is removed.
const (
	RemovedByUser     = "removed_by_user"
	RemovedByOperator = "removed_by_operator"
)

// Removed records a factor removed; removing the authenticator voids its recovery codes.
type Removed struct {
	FactorID string    `json:"factor_id"`
	Kind     string    `json:"kind"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// EventType implements domain.Event.
func (Removed) EventType() string { return "factor.removed" }

// KindRecoveryCode is CodeFailed's kind for a recovery code.
const KindRecoveryCode = "recovery_code"

// TOTP is an authenticator app as the factors' state holds it.
type TOTP struct {
	ID          string
	Secret      string
	Confirmed   bool
	EnrolledAt  time.Time
	ConfirmedAt time.Time
	LastStep    int64
	LastUsedAt  time.Time
}

// State is a user's factors folded from their stream.
type State struct {
	TOTP *TOTP
	// Recovery maps each recovery code's hash to whether it was used.
	Recovery    map[string]bool
	Failures    int
	LastFailure time.Time
	// Passkeys are the user's passkeys, oldest first.
	Passkeys []Passkey
	// Challenges are the passkey sign-in challenges answered (SHA-256, hex) that have not
	// expired yet, with when they expire.
	Challenges map[string]time.Time
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		switch e := e.(type) {
		case TOTPEnrolled:
			if s.TOTP == nil || !s.TOTP.Confirmed {
				s.TOTP = &TOTP{ID: e.FactorID, Secret: e.Secret, EnrolledAt: e.At}
			}
		case TOTPConfirmed:
			if s.TOTP != nil && s.TOTP.ID == e.FactorID {
				s.TOTP.Confirmed, s.TOTP.ConfirmedAt, s.TOTP.LastStep = true, e.At, e.Step
				s.Recovery = map[string]bool{}
				for _, h := range e.RecoveryCodes {
					s.Recovery[h] = false
				}
				s.Failures = 0
			}
		case TOTPUsed:
			if s.TOTP != nil && s.TOTP.ID == e.FactorID {
				s.TOTP.LastStep, s.TOTP.LastUsedAt = max(s.TOTP.LastStep, e.Step), e.At
			}
			s.Failures = 0
		case RecoveryCodeUsed:
			if _, ok := s.Recovery[e.CodeHash]; ok {
				s.Recovery[e.CodeHash] = true
			}
			s.Failures = 0
		case CodeFailed:
			s.Failures, s.LastFailure = s.Failures+1, e.At
		case Removed:
			if s.TOTP != nil && s.TOTP.ID == e.FactorID {
				s.TOTP, s.Recovery = nil, nil
			}
			if i, ok := s.passkey(func(p Passkey) bool { return p.FactorID == e.FactorID }); ok {
				s.Passkeys = append(s.Passkeys[:i:i], s.Passkeys[i+1:]...)
			}
		case PasskeyRegistered:
			s.Passkeys = append(s.Passkeys, Passkey{PasskeyRegistered: e})
		case PasskeyUsed:
			s.rememberChallenge(e)
			if i, ok := s.passkey(func(p Passkey) bool { return p.FactorID == e.FactorID }); ok {
				s.Passkeys[i].SignCount, s.Passkeys[i].Flags, s.Passkeys[i].LastUsedAt = e.SignCount, e.Flags, e.At
			}
		}
	}
	return s
}

// rememberChallenge keeps a used challenge until it expires, and forgets the expired ones
// (the state stays as small as the sign-ins of the last MaxCeremony).
func (s *State) rememberChallenge(e PasskeyUsed) {
	if e.Challenge == "" {
		return
	}
	if s.Challenges == nil {
		s.Challenges = map[string]time.Time{}
	}
	for c, exp := range s.Challenges {
		if !exp.After(e.At) {
			delete(s.Challenges, c)
		}
	}
	s.Challenges[e.Challenge] = e.ChallengeExpires
}

// HasSecondFactor reports whether the user has a confirmed second factor.
func (s State) HasSecondFactor() bool { return s.TOTP != nil && s.TOTP.Confirmed }

// HasAnyFactor reports whether the user has a confirmed second factor or a passkey: then
// their factors change only from a multi-factor sign-in (ErrStepUp).
func (s State) HasAnyFactor() bool { return s.HasSecondFactor() || len(s.Passkeys) > 0 }

// RecoveryCodesLeft counts the unused recovery codes.
func (s State) RecoveryCodesLeft() int {
	n := 0
	for _, used := range s.Recovery {
		if !used {
			n++
		}
	}
	return n
}

// LockedUntil is when the factors unlock after consecutive wrong codes (zero: not locked).
func (s State) LockedUntil() time.Time { return user.Lockout(s.Failures, s.LastFailure) }
