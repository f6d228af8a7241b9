package user

import (
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
)

// PasswordRehashed replaces a user's password hash with a hash of the same password under
// the current Argon2id parameters (sealed, as in Created), made when the user signed in with
// a hash of older ones. The password is the same, so unlike PasswordChanged it ends nothing:
// sessions, grants and authentications stand.
type PasswordRehashed struct {
	PasswordHash string `json:"password_hash"`
}

// EventType implements domain.Event.
func (PasswordRehashed) EventType() string { return "user.password_rehashed" }

// Rehash records a new hash of the password a user just signed in with. Was is the sealed
// hash the password was verified against: if the user's hash is another by the time the
// decision runs (the password changed, or another instance rehashed it first), nothing is
// appended, so a rehash of an old password never overwrites a new one. Hash is made by the
// caller from the verified password; it is not a new password, so the policy does not apply
// (NewPassword is for passwords chosen now).
type Rehash struct {
	Environment string
	UserID      string
	Was         string
	Hash        string
}

// Streams implements domain.Command.
func (c Rehash) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.UserID)}
}

// Decide implements domain.Command.
func (c Rehash) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if !strings.HasPrefix(c.Hash, SealedPrefix) {
		return nil, domain.Invalid("password_hash", "must be an Argon2id hash sealed with the master key")
	}
	s := FoldAll(h[0])
	if !s.Exists || s.Deleted {
		return nil, domain.ErrNotFound
	}
	if s.Disabled || c.Was == "" || s.PasswordHash != c.Was || c.Hash == c.Was {
		return nil, nil
	}
	return [][]domain.Event{{PasswordRehashed{PasswordHash: c.Hash}}}, nil
}
