package access

import (
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/user"
)

// ReasonPasswordChanged is recorded on the sessions and grants a password change ends.
const ReasonPasswordChanged = "password_changed"

// ErrUserEnded: a disabled or deleted user's password is not changed (a disabled user
// cannot recover their way back in).
var ErrUserEnded = domain.Invalid("user", "is disabled or deleted")

// ChangePassword sets a user's new password and, in the same append, revokes every session
// and grant of theirs that it names (with every live token of those grants), as EndUser
// does: whoever held the old password, or a session or token made with it, holds nothing
// afterwards. The caller names the sessions and grants from its read models; the decision
// checks each belongs to the user, so a wrong list can only revoke less (the operation
// sweeps after). Password is the hash of a password the policy accepted for the user's
// own address.
type ChangePassword struct {
	Environment string
	UserID      string
	Password    user.PasswordHash
	SessionIDs  []string
	GrantIDs    []string
}

// Streams implements domain.Command: the user, the sessions, the grants.
func (c ChangePassword) Streams() []domain.StreamRef {
	refs := []domain.StreamRef{user.Stream(c.Environment, c.UserID)}
	for _, id := range c.SessionIDs {
		refs = append(refs, session.Stream(c.Environment, id))
	}
	for _, id := range c.GrantIDs {
		refs = append(refs, grant.Stream(c.Environment, id))
	}
	return refs
}

// Decide implements domain.Command.
func (c ChangePassword) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	u := user.FoldAll(h[0])
	switch {
	case !u.Exists:
		return nil, domain.ErrNotFound
	case u.Deleted || u.Disabled:
		return nil, ErrUserEnded
	case c.Password.IsZero():
		return nil, domain.Invalid("password", "is required")
	case !c.Password.For(u.Email):
		return nil, domain.Invalid("password", "was checked against another email address")
	}
	out := make([][]domain.Event, len(h))
	out[0] = []domain.Event{user.PasswordChanged{PasswordHash: c.Password.PHC(), At: now.UTC()}}
	revokeHeld(h, out, 1, c.UserID, len(c.SessionIDs), len(c.GrantIDs), ReasonPasswordChanged, now)
	return out, nil
}

// RevokeSessions revokes the named sessions of UserID that were authenticated before
// Before: the sweep after a password change, for sessions started with the old password
// while the change was being decided and not yet in the caller's read model.
type RevokeSessions struct {
	Environment string
	UserID      string
	SessionIDs  []string
	Before      time.Time
	Reason      string
}

// Streams implements domain.Command.
func (c RevokeSessions) Streams() []domain.StreamRef {
	refs := make([]domain.StreamRef, len(c.SessionIDs))
	for i, id := range c.SessionIDs {
		refs[i] = session.Stream(c.Environment, id)
	}
	return refs
}

// Decide implements domain.Command.
func (c RevokeSessions) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	out := make([][]domain.Event, len(h))
	for i := range h {
		s := session.Fold(h[i])
		if s.Started != nil && !s.Revoked && s.Started.UserID == c.UserID && !s.Started.AuthTime.After(c.Before) {
			out[i] = []domain.Event{session.Revoked{Reason: c.Reason}}
		}
	}
	return out, nil
}
