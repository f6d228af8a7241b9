package access

import (
	"time"

	"github.com/paylent/paylent/domain/user"
)

// User is what a face knows, from current read models, of the user a token or a browser's
// session speaks for.
type User struct {
	Exists   bool
	Disabled bool
	// PasswordChangedAt and SignInsEndedAt: as in user.FullState (zero: never).
	PasswordChangedAt time.Time
	SignInsEndedAt    time.Time
}

// Stands reports whether an authentication of the user at authTime still counts: the user
// exists, is enabled, and has neither changed their password nor had their sign-ins ended
// since (the rule the grant decisions apply to the log: user.FullState.AuthenticationStands).
// A zero authTime (not known) is judged on the user alone.
func (u User) Stands(authTime time.Time) bool {
	if !u.Exists || u.Disabled {
		return false
	}
	return authTime.IsZero() ||
		user.FullState{PasswordChangedAt: u.PasswordChangedAt, SignInsEndedAt: u.SignInsEndedAt}.AuthenticationStands(authTime)
}

// Parties is what a face knows, from current read models, of the user and the client a
// presented token was issued for.
type Parties struct {
	ClientExists bool
	// ForUser: the token was issued for a user (not to a client for itself).
	ForUser bool
	User    User
	// AuthTime: when the user signed in for the token (zero: not known).
	AuthTime time.Time
}

// Honoured reports whether a token of these parties may still be honoured: its client
// exists and, for a user's token, the user's authentication stands (User.Stands). Every
// face that accepts a token (introspection, UserInfo, the Management API, refresh) asks
// this, so ending a party ends its tokens at once, even before their revocation events
// arrive.
func (p Parties) Honoured() bool {
	if !p.ClientExists {
		return false
	}
	return !p.ForUser || p.User.Stands(p.AuthTime)
}

// Session is what a face knows, from current read models, of a browser's login session.
type Session struct {
	// Active: neither revoked nor expired.
	Active   bool
	AuthTime time.Time
	User     User
}

// Stands reports whether the session may still act for its user: it is active and its
// user's authentication at its start stands. A user disabled or deleted, whose password
// changed or whose factors were reset, is signed out at once, even where the session's
// revocation has not arrived yet (another instance's write, or a log from a version that
// left sessions alone when it disabled a user).
func (s Session) Stands() bool {
	return s.Active && s.User.Stands(s.AuthTime)
}
