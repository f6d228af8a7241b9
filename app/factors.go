package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/internal/secret"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Second factors: an authenticator app (TOTP, RFC 6238, through github.com/pquerna/otp) and
// its recovery codes. The seed is made here, sealed with a master-key-derived key before it
// enters an event, and opened only to check a code; recovery codes are made here, shown once
// and recorded as keyed hashes. Whether a code counts (its step, a replay, the lockout) is
// the domain's decision (domain/factor).

// Errors of the second factor, for the faces.
var (
	// ErrCodeWrong: the code is not the authenticator's (or not an unused recovery code).
	ErrCodeWrong = errors.New("the code is wrong")
	// ErrCodeReplayed: the code was right but already used (same time step).
	ErrCodeReplayed = errors.New("the code was already used; wait for the next one")
)

// totpOpts are the authenticator's parameters: what every authenticator app supports.
var totpOpts = totp.ValidateOpts{Period: uint(factor.Period / time.Second), Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrolment is a pending authenticator as the person sets it up: the manual key, the
// otpauth URL and its QR code (a PNG data URI). Key, URL and QR hold the seed: render them
// to the person, never log or store them.
type TOTPEnrolment struct {
	FactorID string
	Key      string
	URL      string
	QR       string
}

// LogValue implements slog.LogValuer: the seed never reaches a log line.
func (e TOTPEnrolment) LogValue() slog.Value {
	return slog.StringValue("totp enrolment " + e.FactorID + " [redacted]")
}

// EnrolTOTP asks to set up an authenticator app for a user.
type EnrolTOTP struct {
	Environment string
	UserID      string
	// Issuer and Account label the entry in the person's app (environment, email).
	Issuer  string
	Account string
	Browser Browser
	// MultiFactor: asked from a session that proved a second factor or a passkey (acr mfa);
	// a user who has a passkey sets up an authenticator only so (factor.ErrStepUp).
	MultiFactor bool
}

// EnrolTOTP makes a seed, seals it into factor.totp_enrolled and returns what the person
// scans or types. A pending one is replaced; a confirmed one must be removed first.
func (a *App) EnrolTOTP(ctx context.Context, req EnrolTOTP) (TOTPEnrolment, error) {
	seed := make([]byte, 20)
	if _, err := a.random().Read(seed); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp seed: %w", err)
	}
	sealed, err := secret.SealSecret(a.masterKey, secret.PurposeTOTPSeed, seed)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	id := "totp-" + secret.ID()
	if _, err := a.loop.Execute(ctx, factor.EnrolTOTP{Environment: req.Environment, UserID: req.UserID, FactorID: id,
		Secret: sealed, MultiFactor: req.MultiFactor}, req.Browser.actor(req.UserID)); err != nil {
		return TOTPEnrolment{}, err
	}
	return enrolment(id, seed, req.Issuer, req.Account)
}

// PendingTOTP shows a user's pending authenticator again (the page was reloaded, a code was
// wrong); false when there is none.
func (a *App) PendingTOTP(ctx context.Context, req EnrolTOTP) (TOTPEnrolment, bool, error) {
	s, err := a.factorState(ctx, req.Environment, req.UserID)
	if err != nil || s.TOTP == nil || s.TOTP.Confirmed {
		return TOTPEnrolment{}, false, err
	}
	seed, err := secret.OpenSecret(a.masterKey, secret.PurposeTOTPSeed, s.TOTP.Secret)
	if err != nil {
		return TOTPEnrolment{}, false, fmt.Errorf("open the seed of factor %s: %w", s.TOTP.ID, err)
	}
	e, err := enrolment(s.TOTP.ID, seed, req.Issuer, req.Account)
	return e, err == nil, err
}

func enrolment(id string, seed []byte, issuer, account string) (TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Secret: seed,
		Period: totpOpts.Period, Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp key: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("totp qr code: %w", err)
	}
	return TOTPEnrolment{FactorID: id, Key: key.Secret(), URL: key.URL(),
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// ConfirmTOTP asks to confirm a pending authenticator with its first code.
type ConfirmTOTP struct {
	Environment string
	UserID      string
	FactorID    string
	Code        string
	Browser     Browser
	// MultiFactor: as EnrolTOTP's.
	MultiFactor bool
}

// ConfirmTOTP checks the first code and makes the recovery codes: returned once, recorded
// as keyed hashes. A wrong code is recorded and answers ErrCodeWrong; too many answer
// factor.ErrLocked.
func (a *App) ConfirmTOTP(ctx context.Context, req ConfirmTOTP) ([]string, error) {
	s, err := a.factorState(ctx, req.Environment, req.UserID)
	if err != nil {
		return nil, err
	}
	if s.TOTP == nil || s.TOTP.Confirmed || s.TOTP.ID != req.FactorID {
		return nil, factor.ErrNoFactor
	}
	check, err := a.totpCheck(s.TOTP, req.Code)
	if err != nil {
		return nil, err
	}
	codes, hashes := a.recoveryCodes(req.Environment, req.UserID)
	res, err := a.loop.Execute(ctx, factor.ConfirmTOTP{Environment: req.Environment, UserID: req.UserID, FactorID: req.FactorID,
		Check: check, RecoveryCodes: hashes, MultiFactor: req.MultiFactor}, req.Browser.actor(req.UserID))
	if err != nil {
		return nil, err
	}
	if appended[factor.CodeFailed](res) {
		return nil, ErrCodeWrong
	}
	return codes, nil
}

// recoveryCodes makes ten codes ("xxxx-xxxx-xxxx", 60 bits each) and their keyed hashes.
func (a *App) recoveryCodes(env, userID string) ([]string, []string) {
	key := factor.Key(a.masterKey)
	enc := base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)
	var codes, hashes []string
	for range factor.RecoveryCodes {
		raw := make([]byte, 8)
		if _, err := a.random().Read(raw); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err)) // crypto/rand does not fail on Linux
		}
		s := enc.EncodeToString(raw)[:12]
		code := s[:4] + "-" + s[4:8] + "-" + s[8:]
		codes, hashes = append(codes, code), append(hashes, factor.RecoveryCodeHash(key, env, userID, code))
	}
	return codes, hashes
}

// totpCheck opens the authenticator's seed and returns the check the domain asks.
func (a *App) totpCheck(t *factor.TOTP, code string) (factor.Check, error) {
	seed, err := secret.OpenSecret(a.masterKey, secret.PurposeTOTPSeed, t.Secret)
	if err != nil {
		return nil, fmt.Errorf("open the seed of factor %s: %w", t.ID, err)
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(seed)
	code = strings.Join(strings.Fields(code), "")
	return func(at time.Time) bool {
		ok, err := totp.ValidateCustom(code, b32, at, totpOpts)
		return err == nil && ok
	}, nil
}

// random is the App's source of randomness (crypto/rand unless a test gave one).
func (a *App) random() interface{ Read([]byte) (int, error) } {
	if a.rand != nil {
		return a.rand
	}
	return rand.Reader
}

// factorState reads a user's factors from their stream: the truth, not a read model (a
// replay must be refused on any instance at once).
func (a *App) factorState(ctx context.Context, env, userID string) (factor.State, error) {
	hist, err := a.history(ctx, factor.Stream(env, userID))
	if err != nil {
		return factor.State{}, err
	}
	return factor.Fold(hist), nil
}

// SecondFactorCheck asks to check a second-factor code at sign-in: six digits are the
// authenticator's, anything else a recovery code.
type SecondFactorCheck struct {
	Environment string
	UserID      string
	Code        string
	Browser     Browser
}

// Second-factor methods, as VerifySecondFactor reports them.
const (
	MethodTOTP         = "otp"
	MethodRecoveryCode = "recovery_code"
)

// VerifySecondFactor checks a code and records its use (the step, or the recovery code);
// it returns the method. A wrong code is recorded and answers ErrCodeWrong, a replayed one
// ErrCodeReplayed; a locked user gets factor.ErrLocked, a user without a confirmed
// authenticator factor.ErrNoFactor.
func (a *App) VerifySecondFactor(ctx context.Context, req SecondFactorCheck) (string, error) {
	s, err := a.factorState(ctx, req.Environment, req.UserID)
	if err != nil {
		return "", err
	}
	if !s.HasSecondFactor() {
		return "", factor.ErrNoFactor
	}
	code := strings.Join(strings.Fields(req.Code), "")
	actor := req.Browser.actor(req.UserID)
	if isDigits(code, 6) {
		check, err := a.totpCheck(s.TOTP, code)
		if err != nil {
			return "", err
		}
		res, err := a.loop.Execute(ctx, factor.VerifyTOTP{Environment: req.Environment, UserID: req.UserID,
			FactorID: s.TOTP.ID, Check: check}, actor)
		return MethodTOTP, codeOutcome(res.Events, err)
	}
	if len(code) > 40 {
		code = code[:40]
	}
	hash := factor.RecoveryCodeHash(factor.Key(a.masterKey), req.Environment, req.UserID, code)
	res, err := a.loop.Execute(ctx, factor.UseRecoveryCode{Environment: req.Environment, UserID: req.UserID, CodeHash: hash}, actor)
	return MethodRecoveryCode, codeOutcome(res.Events, err)
}

// codeOutcome reads what a code decision recorded.
func codeOutcome(events []domain.Envelope, err error) error {
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Type == (factor.CodeFailed{}).EventType() {
			if strings.Contains(string(e.Data), factor.FailureReplayed) {
				return ErrCodeReplayed
			}
			return ErrCodeWrong
		}
	}
	return nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
