package user

import (
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/paylent/paylent/domain"
)

// MinPasswordLength is the shortest password accepted for a new account.
const MinPasswordLength = 10

// commonPasswords are refused whatever their length (a short list of the most used ones
// that pass the length rule; the point is to stop the obvious).
var commonPasswords = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`password12 password123 password1234 1234567890 0123456789 12345678910
		qwertyuiop qwerty1234 qwerty12345 1q2w3e4r5t 1qaz2wsx3edc iloveyou12 iloveyou123 abcdefghij
		abc1234567 letmein123 welcome123 welcome1234 admin12345 administrator passw0rd123 p@ssw0rd123
		p@ssword123 changeme123 football123 baseball123 sunshine123 princess123 dragon1234 monkey1234
		trustno1234 starwars123 whatever123 superman123 1111111111 0000000000 9876543210 aaaaaaaaaa
		zaq12wsxcde qazwsxedcrfv asdfghjkl1 zxcvbnm123 michael123 jennifer123 computer123 internet123
		password! passwordpassword correcthorse`) {
		commonPasswords[p] = true
	}
}

// Password is a new password that the policy accepted: NewPassword is its only maker, so a
// face holding one cannot have skipped the policy. It never prints its value.
type Password struct{ plain, email string }

// NewPassword applies the one password policy to plain, a new password for the account
// with the address email: long enough, not too long, not one of the most common ones, and
// not the address.
func NewPassword(plain, email string) (Password, error) {
	if err := checkPassword(plain, email); err != nil {
		return Password{}, err
	}
	return Password{plain: plain, email: NormalizeEmail(email)}, nil
}

// String implements fmt.Stringer without the value.
func (Password) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer without the value.
func (Password) GoString() string { return "user.Password{[redacted]}" }

// LogValue implements slog.LogValuer without the value.
func (Password) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// PasswordHash is the Argon2id hash (PHC string) of a Password, sealed with the master key
// by the hash function the composition root gives (events carry it sealed, "sealed:v1:…";
// events of schema version 1 carry the PHC string itself). Create requires one, and
// HashedPassword is its only maker, so every user's password passed the policy.
type PasswordHash struct{ phc, email string }

// HashedPassword hashes p with hash, the hasher the composition root built (the domain
// computes no hash itself). Its errors (a busy hasher) come back wrapped.
func HashedPassword(p Password, hash func(plain string) (string, error)) (PasswordHash, error) {
	if p.plain == "" {
		return PasswordHash{}, domain.Invalid("password", "is required")
	}
	phc, err := hash(p.plain)
	if err != nil {
		return PasswordHash{}, fmt.Errorf("hash password: %w", err)
	}
	if !strings.HasPrefix(phc, SealedPrefix) {
		return PasswordHash{}, domain.Invalid("password_hash", "must be an Argon2id hash sealed with the master key")
	}
	return PasswordHash{phc: phc, email: p.email}, nil
}

// SealedPrefix starts a sealed password hash (internal/secret.SealedPasswordPrefix).
const SealedPrefix = "sealed:v1:"

// PHC is the sealed hash, as events store it.
func (h PasswordHash) PHC() string { return h.phc }

// For reports whether the password was checked against the (normalized) address email.
func (h PasswordHash) For(email string) bool { return h.email == NormalizeEmail(email) }

// IsZero reports whether h was not made by HashedPassword.
func (h PasswordHash) IsZero() bool { return h.phc == "" }

// checkPassword is the policy.
func checkPassword(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return domain.Invalid("password", "must be at least %d characters", MinPasswordLength)
	case len(password) > 1024:
		return domain.Invalid("password", "must be at most 1024 bytes")
	case commonPasswords[strings.ToLower(password)]:
		return domain.Invalid("password", "is one of the most common passwords; choose another")
	case strings.EqualFold(password, email) || strings.EqualFold(password, strings.Split(email, "@")[0]):
		return domain.Invalid("password", "must not be your email address")
	}
	return nil
}
