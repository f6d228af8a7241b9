package app

import (
	"context"
	"log/slog"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/sessions"
)

// ResetPassword asks to set a user's password for them: an operator's reset (the person
// recovers their own by mail, CompleteRecovery). The user is named by id or by address.
type ResetPassword struct {
	Environment string
	UserID      string
	Email       string
	// Password is the new password; the policy checks it against the user's own address
	// (user.NewPassword). "" generates one, returned once in the result.
	Password string
}

// LogValue implements slog.LogValuer without the password.
func (r ResetPassword) LogValue() slog.Value {
	return slog.GroupValue(slog.String("environment", r.Environment), slog.String("user_id", r.UserID))
}

// PasswordReset is what a reset did: the user's new password is set and what they held is
// revoked.
type PasswordReset struct {
	UserID string
	Email  string
	// Generated is the generated password, in this result and nowhere else ("" when the
	// caller gave one).
	Generated string
	Ended
}

// LogValue implements slog.LogValuer without the generated password.
func (r PasswordReset) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_id", r.UserID), slog.Int64("position", r.Position))
}

// ResetPassword sets a user's new password under the one policy and, in the same append,
// revokes every session and grant of theirs (access.ChangePassword, as recovery does), then
// sweeps what was made meanwhile. Only operators and Management API clients reset a
// password; a user of another environment is domain.ErrNotFound, a disabled or deleted one
// access.ErrUserEnded.
func (a *App) ResetPassword(ctx context.Context, req ResetPassword, actor domain.Actor) (PasswordReset, error) {
	if actor.Kind != domain.ActorOperator && actor.Kind != domain.ActorClient {
		return PasswordReset{}, domain.Forbidden("only an operator resets a password; a user recovers their own")
	}
	if err := a.Current(ctx, a.rm.CatalogReady); err != nil {
		return PasswordReset{}, err
	}
	u, ok := a.rm.Catalog.User(req.Environment, req.UserID)
	if req.UserID == "" {
		u, ok = a.rm.Catalog.UserByEmail(req.Environment, req.Email)
	}
	if !ok {
		return PasswordReset{}, domain.ErrNotFound
	}
	out := PasswordReset{UserID: u.ID, Email: u.Email}
	plain := req.Password
	if plain == "" {
		out.Generated = secret.Random(16)
		plain = out.Generated
	}
	pw, err := user.NewPassword(plain, u.Email)
	if err != nil {
		return PasswordReset{}, err
	}
	hash, err := a.hashPassword(ctx, pw)
	if err != nil {
		return PasswordReset{}, err
	}
	out.Ended, err = a.changePassword(ctx, req.Environment, u.ID, hash, actor,
		func(c access.ChangePassword) domain.Command { return c })
	if err != nil && out.Position == 0 {
		return PasswordReset{}, err
	}
	// A failed sweep still set the password: the result says so (and holds a generated one).
	return out, err
}

// changePassword runs access.ChangePassword (wrapped by the caller's command, e.g. a
// recovery's completion) over every session and grant of the user the read models show at
// the log's head, then sweeps the sessions and grants made with the old password meanwhile.
func (a *App) changePassword(ctx context.Context, env, userID string, hash user.PasswordHash, actor domain.Actor,
	wrap func(access.ChangePassword) domain.Command) (Ended, error) {
	if err := a.Current(ctx, a.rm.TokensReady, a.rm.SessionsReady); err != nil {
		a.log.Warn("changing a password with read models behind the log; the sweep completes it", "err", err)
	}
	now := a.now()
	sess := sessions.ActiveIDs(a.rm.Sessions.OfUser(env, userID), now)
	grants, _ := a.rm.Tokens.Held(env, userID, "", now)
	res, err := a.loop.Execute(ctx, wrap(access.ChangePassword{Environment: env, UserID: userID, Password: hash,
		SessionIDs: sess, GrantIDs: grants}), actor)
	if err != nil {
		return Ended{}, err
	}
	var out Ended
	out.add(res)
	if out, err = a.sweepSessions(ctx, out, env, userID, sess, changedAt(res), access.ReasonPasswordChanged, actor); err != nil {
		return out, err
	}
	return a.sweep(ctx, out, access.RevokeGrants{Environment: env, UserID: userID, Reason: access.ReasonPasswordChanged},
		grants, actor)
}
