package factor

import (
	"encoding/base64"
	"time"
	"unicode/utf8"

	"github.com/paylent/paylent/domain"
)

// Passkeys (WebAuthn discoverable credentials): a way to sign in by themselves, not a second
// factor after the password. Only public key material enters events; the private key never
// leaves the person's authenticator.

// KindPasskey is a passkey's kind.
const KindPasskey = "passkey"

// MaxPasskeys bounds a user's passkeys.
const MaxPasskeys = 20

// Errors of passkeys.
var (
	ErrPasskeyExists = domain.Exists("this passkey is already registered")
	// ErrPasskeyCloned: the authenticator's signature counter went backwards (WebAuthn
	// §6.1.1): a copy of the credential may exist; the sign-in is refused.
	ErrPasskeyCloned = domain.Forbidden("the passkey's signature counter went backwards; it may have been copied")
	// ErrChallengeUsed: the sign-in ceremony's challenge was answered already (a captured
	// assertion sent again), or it expired.
	ErrChallengeUsed = domain.Forbidden("this passkey sign-in was used already or has expired; start again")
)

// MaxCeremony bounds how long a sign-in challenge may be answered: a used challenge is
// remembered until it expires, so a decision needs no longer memory.
const MaxCeremony = 10 * time.Minute

// PasskeyRegistered records a passkey: its credential id and COSE public key (base64url),
// the authenticator's AAGUID (hex), signature counter, flags byte (UP, UV, BE, BS) and
// transports, and the name the person gave it.
type PasskeyRegistered struct {
	FactorID        string    `json:"factor_id"`
	CredentialID    string    `json:"credential_id"`
	PublicKey       string    `json:"public_key"`
	AAGUID          string    `json:"aaguid,omitempty"`
	SignCount       uint32    `json:"sign_count"`
	Flags           uint8     `json:"flags"`
	Transports      []string  `json:"transports,omitempty"`
	AttestationType string    `json:"attestation_type,omitempty"`
	Name            string    `json:"name"`
	At              time.Time `json:"at"`
}

// EventType implements domain.Event.
func (PasskeyRegistered) EventType() string { return "factor.passkey_registered" }

// PasskeyUsed records a sign-in with a passkey and the authenticator's new counter and flags.
// Challenge is the SHA-256 (hex) of the ceremony's challenge the assertion signed and
// ChallengeExpires when that challenge stops being accepted: the same challenge is refused
// until then (events written before carry neither).
type PasskeyUsed struct {
	FactorID         string    `json:"factor_id"`
	SignCount        uint32    `json:"sign_count"`
	Flags            uint8     `json:"flags"`
	Challenge        string    `json:"challenge,omitempty"`
	ChallengeExpires time.Time `json:"challenge_expires,omitzero"`
	At               time.Time `json:"at"`
}

// EventType implements domain.Event.
func (PasskeyUsed) EventType() string { return "factor.passkey_used" }

// Passkey is a registered passkey as the state holds it.
type Passkey struct {
	PasskeyRegistered
	LastUsedAt time.Time
}

// passkey finds a passkey by factor id or credential id.
func (s State) passkey(match func(Passkey) bool) (int, bool) {
	for i, p := range s.Passkeys {
		if match(p) {
			return i, true
		}
	}
	return -1, false
}

// PasskeyByCredential finds a passkey by its credential id (base64url).
func (s State) PasskeyByCredential(id string) (Passkey, bool) {
	i, ok := s.passkey(func(p Passkey) bool { return p.CredentialID == id })
	if !ok {
		return Passkey{}, false
	}
	return s.Passkeys[i], true
}

// RegisterPasskey records a passkey the operations layer verified (go-webauthn).
type RegisterPasskey struct {
	Environment string
	UserID      string
	Passkey     PasskeyRegistered
	// MultiFactor: the request comes from a sign-in that proved a second factor or a passkey
	// (session acr mfa), or, for a removal, with a current code. Required once the user has
	// any factor (ErrStepUp).
	MultiFactor bool
}

// Streams implements domain.Command.
func (c RegisterPasskey) Streams() []domain.StreamRef { return streams(c.Environment, c.UserID) }

// Decide implements domain.Command.
func (c RegisterPasskey) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	if err := standing(h[1]); err != nil {
		return nil, err
	}
	s, p := Fold(h[0]), c.Passkey
	raw, err := base64.RawURLEncoding.DecodeString(p.CredentialID)
	switch {
	case !factorID.MatchString(p.FactorID):
		return nil, domain.Invalid("factor_id", "must be 8 to 64 letters, digits, '-' or '_'")
	case err != nil || len(raw) < 16 || len(raw) > 1023:
		return nil, domain.Invalid("credential_id", "must be 16 to 1023 bytes, base64url")
	case len(p.PublicKey) < 16 || len(p.PublicKey) > 2048:
		return nil, domain.Invalid("public_key", "must be a COSE key, base64url")
	case utf8.RuneCountInString(p.Name) < 1 || utf8.RuneCountInString(p.Name) > 64:
		return nil, domain.Invalid("name", "must be 1 to 64 characters")
	case len(s.Passkeys) >= MaxPasskeys:
		return nil, domain.Invalid("passkeys", "at most %d per user", MaxPasskeys)
	case s.HasAnyFactor() && !c.MultiFactor:
		return nil, ErrStepUp
	}
	if _, dup := s.PasskeyByCredential(p.CredentialID); dup {
		return nil, ErrPasskeyExists
	}
	p.At = now
	return [][]domain.Event{{p}, nil}, nil
}

// UsePasskey records a sign-in with a passkey the operations layer verified. Challenge is
// the SHA-256 (hex) of the challenge the assertion signed, ChallengeExpires the ceremony's
// end: a challenge is good for one sign-in, so a captured assertion sent again (with the
// ceremony's state) is refused even by an authenticator that keeps no counter.
type UsePasskey struct {
	Environment      string
	UserID           string
	CredentialID     string
	SignCount        uint32
	Flags            uint8
	Challenge        string
	ChallengeExpires time.Time
}

// Streams implements domain.Command.
func (c UsePasskey) Streams() []domain.StreamRef { return streams(c.Environment, c.UserID) }

// Decide implements domain.Command. A counter that does not grow (when either is non-zero)
// is refused: authenticators that keep no counter send 0 every time.
func (c UsePasskey) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	if err := standing(h[1]); err != nil {
		return nil, err
	}
	s := Fold(h[0])
	p, ok := s.PasskeyByCredential(c.CredentialID)
	if !ok {
		return nil, ErrNoFactor
	}
	switch _, seen := s.Challenges[c.Challenge]; {
	case !keyedHash.MatchString(c.Challenge):
		return nil, domain.Invalid("challenge", "must be a SHA-256, hex")
	case seen || !now.Before(c.ChallengeExpires) || c.ChallengeExpires.After(now.Add(MaxCeremony)):
		return nil, ErrChallengeUsed
	case (c.SignCount != 0 || p.SignCount != 0) && c.SignCount <= p.SignCount:
		return nil, ErrPasskeyCloned
	}
	return [][]domain.Event{{PasskeyUsed{FactorID: p.FactorID, SignCount: c.SignCount, Flags: c.Flags, Challenge: c.Challenge,
		ChallengeExpires: c.ChallengeExpires, At: now}}, nil}, nil
}
