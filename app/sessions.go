package app

import (
	"context"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/session"
)

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
