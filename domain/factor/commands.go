package factor

import (
	"regexp"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/user"
)

// streams are a command's: the factors (appended to) and the user (read for standing).
func streams(env, userID string) []domain.StreamRef {
	return []domain.StreamRef{Stream(env, userID), user.Stream(env, userID)}
}

// standing refuses a user who does not exist, is deleted or disabled.
func standing(h []domain.Event) error {
	if u := user.FoldAll(h); !u.Exists || u.Deleted || u.Disabled {
		return ErrUserCannot
	}
	return nil
}

var factorID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// EnrolTOTP sets up an authenticator app (pending until ConfirmTOTP). A pending one is
// replaced; a confirmed one must be removed first.
type EnrolTOTP struct {
	Environment string
	UserID      string
	FactorID    string
	// Secret is the seed sealed with the master key.
	Secret string
	// MultiFactor: the request comes from a sign-in that proved a second factor or a passkey
	// (session acr mfa), or, for a removal, with a current code. Required once the user has
	// any factor (ErrStepUp).
	MultiFactor bool
}

// Streams implements domain.Command.
func (c EnrolTOTP) Streams() []domain.StreamRef { return streams(c.Environment, c.UserID) }

// Decide implements domain.Command.
func (c EnrolTOTP) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	if err := standing(h[1]); err != nil {
		return nil, err
	}
	switch s := Fold(h[0]); {
	case !factorID.MatchString(c.FactorID):
		return nil, domain.Invalid("factor_id", "must be 8 to 64 letters, digits, '-' or '_'")
	case !strings.HasPrefix(c.Secret, SealedPrefix) || len(c.Secret) < len(SealedPrefix)+40:
		return nil, errNotSealed
	case s.HasSecondFactor():
		return nil, ErrTOTPExists
	case s.HasAnyFactor() && !c.MultiFactor:
		return nil, ErrStepUp
	}
	return [][]domain.Event{{TOTPEnrolled{FactorID: c.FactorID, Secret: c.Secret, At: now}}, nil}, nil
}

var keyedHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ConfirmTOTP confirms a pending authenticator with its first code and records the keyed
// hashes of its recovery codes. A wrong code is recorded (CodeFailed) and is no error: the
// caller reads the outcome from the events.
type ConfirmTOTP struct {
	Environment   string
	UserID        string
	FactorID      string
	Check         Check
	RecoveryCodes []string
	// MultiFactor: the request comes from a sign-in that proved a second factor or a passkey
	// (session acr mfa), or, for a removal, with a current code. Required once the user has
	// any factor (ErrStepUp).
	MultiFactor bool
}

// Streams implements domain.Command.
func (c ConfirmTOTP) Streams() []domain.StreamRef { return streams(c.Environment, c.UserID) }

// Decide implements domain.Command.
func (c ConfirmTOTP) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	if err := standing(h[1]); err != nil {
		return nil, err
	}
	s := Fold(h[0])
	if s.TOTP == nil || s.TOTP.Confirmed || s.TOTP.ID != c.FactorID {
		return nil, ErrNoFactor
	}
	if s.HasAnyFactor() && !c.MultiFactor {
		return nil, ErrStepUp
	}
	if now.Before(s.LockedUntil()) {
		return nil, ErrLocked
	}
	if len(c.RecoveryCodes) != RecoveryCodes {
		return nil, errBadRecovery
	}
	seen := map[string]bool{}
	for _, rc := range c.RecoveryCodes {
		if !keyedHash.MatchString(rc) || seen[rc] {
			return nil, errBadRecovery
		}
		seen[rc] = true
	}
	step := c.Check.match(now)
	if step == 0 {
		return [][]domain.Event{{CodeFailed{Kind: KindTOTP, Reason: FailureWrong, At: now}}, nil}, nil
	}
	return [][]domain.Event{{TOTPConfirmed{FactorID: c.FactorID, Step: step, RecoveryCodes: c.RecoveryCodes, At: now}}, nil}, nil
}

// VerifyTOTP checks a code of the confirmed authenticator at sign-in. A code of a step at or
// before the last one used is a replay; it and a wrong code are recorded (CodeFailed) and
// are no error. A locked user gets ErrLocked and nothing is recorded.
type VerifyTOTP struct {
	Environment string
	UserID      string
	// FactorID is the authenticator whose seed the check was made from: a factor replaced
	// meanwhile does not accept it.
	FactorID string
	Check    Check
}

// Streams implements domain.Command.
func (c VerifyTOTP) Streams() []domain.StreamRef { return streams(c.Environment, c.UserID) }

// Decide implements domain.Command.
func (c VerifyTOTP) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	if err := standing(h[1]); err != nil {
		return nil, err
	}
	s := Fold(h[0])
	if !s.HasSecondFactor() || s.TOTP.ID != c.FactorID {
		return nil, ErrNoFactor
	}
	if now.Before(s.LockedUntil()) {
		return nil, ErrLocked
	}
	switch step := c.Check.match(now); {
	case step == 0:
		return [][]domain.Event{{CodeFailed{Kind: KindTOTP, Reason: FailureWrong, At: now}}, nil}, nil
	case step <= s.TOTP.LastStep:
		return [][]domain.Event{{CodeFailed{Kind: KindTOTP, Reason: FailureReplayed, At: now}}, nil}, nil
	default:
		return [][]domain.Event{{TOTPUsed{FactorID: c.FactorID, Step: step, At: now}}, nil}, nil
	}
}

// UseRecoveryCode signs in with a recovery code instead of the authenticator: each code
// once. A wrong or used code is recorded (CodeFailed) and is no error.
type UseRecoveryCode struct {
	Environment string
	UserID      string
	// CodeHash is RecoveryCodeHash of the presented code.
	CodeHash string
}

// Streams implements domain.Command.
func (c UseRecoveryCode) Streams() []domain.StreamRef { return streams(c.Environment, c.UserID) }

// Decide implements domain.Command.
func (c UseRecoveryCode) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	if err := standing(h[1]); err != nil {
		return nil, err
	}
	s := Fold(h[0])
	if !s.HasSecondFactor() {
		return nil, ErrNoFactor
	}
	if now.Before(s.LockedUntil()) {
		return nil, ErrLocked
	}
	if used, ok := s.Recovery[c.CodeHash]; !ok || used {
		return [][]domain.Event{{CodeFailed{Kind: KindRecoveryCode, Reason: FailureWrong, At: now}}, nil}, nil
	}
	return [][]domain.Event{{RecoveryCodeUsed{CodeHash: c.CodeHash, At: now}}, nil}, nil
}

// Remove removes a factor (pending or confirmed), by the user or an operator. The user's
// standing is not required: an operator may clean up a disabled user's factors.
type Remove struct {
	Environment string
	UserID      string
	FactorID    string
	Reason      string
	// MultiFactor: the request comes from a sign-in that proved a second factor or a passkey
	// (session acr mfa), or, for a removal, with a current code. Required once the user has
	// any factor (ErrStepUp).
	MultiFactor bool
}

// Streams implements domain.Command.
func (c Remove) Streams() []domain.StreamRef { return streams(c.Environment, c.UserID) }

// Decide implements domain.Command.
func (c Remove) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	kind := KindTOTP
	if _, ok := s.passkey(func(p Passkey) bool { return p.FactorID == c.FactorID }); ok {
		kind = KindPasskey
	} else if s.TOTP == nil || s.TOTP.ID != c.FactorID {
		return nil, ErrNoFactor
	}
	if c.Reason != RemovedByUser && c.Reason != RemovedByOperator {
		return nil, domain.Invalid("reason", "must be %q or %q", RemovedByUser, RemovedByOperator)
	}
	if c.Reason == RemovedByUser && !c.MultiFactor {
		return nil, ErrStepUp
	}
	return [][]domain.Event{{Removed{FactorID: c.FactorID, Kind: kind, Reason: c.Reason, At: now}}, nil}, nil
}

// RemoveAll removes every factor of a user at once (an operator's reset after a lost
// device): the authenticator app, pending or confirmed, with its recovery codes, and every
// passkey, in one append. A user with none is ErrNoFactor.
type RemoveAll struct {
	Environment string
	UserID      string
	Reason      string
}

// Streams implements domain.Command.
func (c RemoveAll) Streams() []domain.StreamRef { return streams(c.Environment, c.UserID) }

// Decide implements domain.Command.
func (c RemoveAll) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	if c.Reason != RemovedByUser && c.Reason != RemovedByOperator {
		return nil, domain.Invalid("reason", "must be %q or %q", RemovedByUser, RemovedByOperator)
	}
	s := Fold(h[0])
	var out []domain.Event
	if s.TOTP != nil {
		out = append(out, Removed{FactorID: s.TOTP.ID, Kind: KindTOTP, Reason: c.Reason, At: now})
	}
	for _, p := range s.Passkeys {
		out = append(out, Removed{FactorID: p.FactorID, Kind: KindPasskey, Reason: c.Reason, At: now})
	}
	if len(out) == 0 {
		return nil, ErrNoFactor
	}
	return [][]domain.Event{out, nil}, nil
}
