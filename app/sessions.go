package app

import (
	"context"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/sessions"
)

// SignedIn is the environment's login session that a browser's cookie token names, if it
// still stands (access.Session.Stands): active, and its user enabled and signed in since
// any password change or end of sign-ins. A face asks this, never the sessions model alone,
// so that ending a user's access signs them out of every page at once, even on an instance
// that has not yet applied the session's revocation.
func (a *App) SignedIn(env, cookieToken string) (sessions.Session, bool) {
	s, ok := a.HeldSession(env, cookieToken)
	if !ok || !a.sessionStands(env, s) {
		return sessions.Session{}, false
	}
	return s, true
}

// SessionOf is a login session of the environment by its id, if it is the user's and still
// stands (as SignedIn): how the dashboard finds its operator's session.
func (a *App) SessionOf(env, sessionID, userID string) (sessions.Session, bool) {
	s, ok := a.rm.Sessions.ByID(env, sessionID)
	if !ok || s.UserID != userID || !a.sessionStands(env, s) {
		return sessions.Session{}, false
	}
	return s, true
}

// HeldSession is the active session a browser's cookie token names, whether or not it still
// stands: what signing out, or a new sign-in in the same browser, ends. It authorizes
// nothing; SignedIn is what does.
func (a *App) HeldSession(env, cookieToken string) (sessions.Session, bool) {
	s, ok := a.rm.Sessions.ByTokenHash(env, secret.Hash(cookieToken))
	if !ok || !s.Active(a.now()) {
		return sessions.Session{}, false
	}
	return s, true
}

func (a *App) sessionStands(env string, s sessions.Session) bool {
	return access.Session{Active: s.Active(a.now()), AuthTime: s.AuthTime, User: a.userStanding(env, s.UserID)}.Stands()
}

// SessionRef names a login session of an environment.
type SessionRef struct {
	Environment string
	SessionID   string
}

// RevokeSession ends a login session on an operator's or the Management API's word: the
// browser holding it must sign in again.
func (a *App) RevokeSession(ctx context.Context, req SessionRef, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, session.Revoke{Environment: req.Environment, SessionID: req.SessionID,
		Reason: session.ReasonOperator}, actor)
	return Written{Position: res.Position}, err
}

// TouchSession records activity on a session (from IP), extending its idle lifetime.
type TouchSession struct {
	Environment string
	SessionID   string
	IP          string
}

// TouchSession records activity on a session.
func (a *App) TouchSession(ctx context.Context, req TouchSession, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, session.Touch{Environment: req.Environment, SessionID: req.SessionID, IP: req.IP}, actor)
	return Written{Position: res.Position}, err
}
