package app

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/sessions"
)

// Account recovery by mail in three steps, as registration: an address gets a code by mail
// (only if it has a user who may sign in; the answer is the same either way), the code
// gives a recovery token, the token and a new password set it and end every session and
// grant of the user in the same append.

// StartRecovery begins a recovery for an address and returns its id. Known and unknown
// addresses get the same answer and the same work (one append); only a user who may sign
// in is mailed a code.
func (a *App) StartRecovery(ctx context.Context, env, email string, b Browser) (string, error) {
	if err := a.Current(ctx, a.rm.CatalogReady); err != nil {
		a.log.Warn("recovery starts from a catalog that may lag", "err", err)
	}
	var userID string
	if u, ok := a.rm.Catalog.UserByEmail(env, email); ok {
		userID = u.ID
	}
	id := secret.ID()
	_, err := a.loop.Execute(ctx, recovery.Start{Environment: env, RecoveryID: id, Email: email, UserID: userID}, b.actor(""))
	return id, err
}

// VerifyRecovery checks a recovery's code and returns the recovery token (shown once). A
// wrong code is recorded against the attempts and answers recovery.ErrWrongCode.
func (a *App) VerifyRecovery(ctx context.Context, env, recoveryID, passcode string, b Browser) (string, error) {
	tok := recoveryID + "." + secret.Token()
	res, err := a.loop.Execute(ctx, recovery.Verify{Environment: env, RecoveryID: recoveryID,
		Passcode: strings.TrimSpace(passcode), Key: registration.Key(a.masterKey), TokenHash: secret.Hash(tok)}, b.actor(""))
	if err != nil {
		return "", err
	}
	if appended[recovery.PasscodeFailed](res) {
		return "", recovery.ErrWrongCode
	}
	return tok, nil
}

// CompleteRecovery asks to set the new password of a verified recovery.
type CompleteRecovery struct {
	Environment string
	// Token is the recovery token VerifyRecovery gave.
	Token    string
	Password string
	Browser  Browser
}

// Recovered is what a completed recovery did: the user's new password is set, and what they
// held is revoked.
type Recovered struct {
	UserID string
	Email  string
	Ended
}

// CompleteRecovery checks the token, then the password against the policy (for the user's
// address), hashes it within the process's budget (secret.ErrBusy when spent), and sets it:
// in the same append every session and grant of the user the read models show (at the log's
// head) is revoked; then, as ending a user does, it sweeps what was made meanwhile.
func (a *App) CompleteRecovery(ctx context.Context, req CompleteRecovery) (Recovered, error) {
	recID, _, _ := strings.Cut(req.Token, ".")
	started, err := a.verifiedRecovery(ctx, req.Environment, recID, req.Token)
	if err != nil {
		return Recovered{}, err
	}
	pw, err := user.NewPassword(req.Password, started.Email)
	if err != nil {
		return Recovered{}, err
	}
	hash, err := a.hashPassword(ctx, pw)
	if err != nil {
		return Recovered{}, err
	}
	out := Recovered{UserID: started.UserID, Email: started.Email}
	out.Ended, err = a.changePassword(ctx, req.Environment, started.UserID, hash, req.Browser.actor(started.UserID),
		func(c access.ChangePassword) domain.Command {
			return recovery.Complete{RecoveryID: recID, TokenHash: secret.Hash(req.Token), Change: c}
		})
	if err != nil && out.Position == 0 {
		return Recovered{}, err
	}
	return out, err
}

// verifiedRecovery reads a recovery and checks, before any password is hashed, that the
// token is its live one (the decision checks again, against what it appends after).
func (a *App) verifiedRecovery(ctx context.Context, env, recID, token string) (recovery.Started, error) {
	if recID == "" {
		return recovery.Started{}, recovery.ErrBadToken
	}
	hist, err := a.history(ctx, recovery.Stream(env, recID))
	if err != nil {
		return recovery.Started{}, err
	}
	s := recovery.Fold(hist)
	if s.Started == nil || !s.Started.Existing || s.Verified == nil || s.Completed || !a.now().Before(s.Verified.ExpiresAt) ||
		subtle.ConstantTimeCompare([]byte(s.Verified.TokenHash), []byte(secret.Hash(token))) != 1 {
		return recovery.Started{}, recovery.ErrBadToken
	}
	return *s.Started, nil
}

// changedAt is the instant a password change was decided: its event's time, to the
// microsecond (user.password_changed's at is to the second). Sessions authenticated at or
// before it were started with the old password.
func changedAt(res eventstore.Result) time.Time {
	var at time.Time
	for _, e := range res.Events {
		if e.Type == (user.PasswordChanged{}).EventType() && e.OccurredAt.After(at) {
			at = e.OccurredAt
		}
	}
	return at
}

// sweepSessions revokes the user's sessions that were started while an end of access was
// being decided (authenticated at or before it, with the old password or a removed factor)
// and that the decision did not name.
func (a *App) sweepSessions(ctx context.Context, out Ended, env, userID string, named []string,
	before time.Time, reason string, actor domain.Actor) (Ended, error) {
	if err := a.Current(ctx, a.rm.SessionsReady); err != nil {
		return out, fmt.Errorf("access ended at position %d, but its sweep could not read the sessions: %w", out.Position, err)
	}
	cmd := access.RevokeSessions{Environment: env, UserID: userID, Before: before, Reason: reason}
	for _, id := range sessions.ActiveIDs(a.rm.Sessions.OfUser(env, userID), a.now()) {
		if !slices.Contains(named, id) {
			cmd.SessionIDs = append(cmd.SessionIDs, id)
		}
	}
	if len(cmd.SessionIDs) == 0 {
		return out, nil
	}
	res, err := a.loop.Execute(ctx, cmd, actor)
	if err != nil {
		return out, fmt.Errorf("access ended at position %d, but its session sweep failed: %w", out.Position, err)
	}
	out.add(res)
	return out, nil
}
