package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/consent"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/sessions"
)

// The login pages' state changes: checking a password (and recording a failure), starting
// a session (ending the browser's previous one), remembering a consent, issuing an
// authorization code, signing out.

// ErrSignInFailed: the email is unknown, the account locked or disabled, or the password
// wrong. The three look the same to the caller.
var ErrSignInFailed = errors.New("sign-in failed")

// Browser is who acts through a browser: where from, and with what.
type Browser struct {
	IP        string
	UserAgent string
}

// actor is the browser's person (userID "" before they have an account).
func (b Browser) actor(userID string) domain.Actor {
	return domain.Actor{Kind: domain.ActorUser, ID: userID, IP: b.IP, UserAgent: b.UserAgent}
}

// SignIn asks to check a person's password.
type SignIn struct {
	Environment string
	Email       string
	Password    string
	Browser     Browser
}

// PrepareSignIn makes the hash an unknown email is verified against, so that the first such
// sign-in costs what the others do (if this fails, the first sign-in makes it).
func (a *App) PrepareSignIn(ctx context.Context) {
	if _, err := a.hasher.Dummy(ctx); err != nil {
		a.log.Warn("could not prepare the login's dummy hash", "err", err)
	}
}

// CheckPassword checks a password against the environment's users, current as of the
// request (a user created or disabled through another instance a moment ago counts). An
// unknown email, a locked account and a wrong password all cost one Argon2id verification,
// through the hasher, and give ErrSignInFailed; wrong passwords are recorded. A busy hasher
// (secret.ErrBusy) checked nothing: it is returned as is and recorded nowhere.
func (a *App) CheckPassword(ctx context.Context, req SignIn) (catalog.User, error) {
	if err := a.Current(ctx, a.rm.CatalogReady); err != nil {
		a.log.Warn("login answers from a catalog that may lag", "err", err)
	}
	u, known := a.rm.Catalog.UserByEmail(req.Environment, req.Email)
	// Locked for this source only: a stranger's wrong passwords lock the stranger out, not
	// the account's owner (unless failures from everywhere reach the global limit).
	locked := known && (u.Disabled || a.now().Before(u.Failures.LockedFor(req.Browser.IP)))
	var stored string
	var err error
	if known && !locked {
		if stored, err = secret.OpenPassword(a.masterKey, u.PasswordHash); err != nil {
			// Another master key, or an altered log: no password can be checked. Nothing is
			// recorded against the user; the operator reads the cause.
			return catalog.User{}, fmt.Errorf("open the password hash of user %s: %w", u.ID, err)
		}
	} else {
		stored, err = a.hasher.Dummy(ctx)
	}
	ok := false
	if err == nil {
		ok, err = a.hasher.Verify(ctx, stored, req.Password)
	}
	if errors.Is(err, secret.ErrBusy) || ctx.Err() != nil {
		return catalog.User{}, secret.ErrBusy
	}
	if !known || locked {
		return catalog.User{}, ErrSignInFailed
	}
	if err != nil || !ok {
		if _, err := a.loop.Execute(ctx, user.RecordLoginFailure{Environment: req.Environment, UserID: u.ID, IP: req.Browser.IP,
			UserAgent: req.Browser.UserAgent}, req.Browser.actor(u.ID)); err != nil {
			a.log.Warn("could not record a failed login", "err", err)
		}
		return catalog.User{}, ErrSignInFailed
	}
	if a.renewHashes && secret.NeedsRehash(stored, a.hasher.Params()) {
		a.rehash(ctx, req, u, req.Password)
	}
	return u, nil
}

// rehash renews the hash of a password just verified against a hash of older Argon2id
// parameters (user.Rehash: appended only while the hash is still the one verified). It is
// an improvement, not part of the sign-in: a busy hasher or a failed append leaves the old
// hash, which still verifies, for the next sign-in.
func (a *App) rehash(ctx context.Context, req SignIn, u catalog.User, password string) {
	phc, err := a.hasher.Hash(ctx, password)
	if err == nil {
		var sealed string
		if sealed, err = secret.SealPassword(a.masterKey, phc); err == nil {
			_, err = a.loop.Execute(ctx, user.Rehash{Environment: req.Environment, UserID: u.ID, Was: u.PasswordHash, Hash: sealed},
				req.Browser.actor(u.ID))
		}
	}
	if err != nil {
		a.log.Info("the password hash of older parameters stays until the next sign-in", "user_id", u.ID, "err", err)
	}
}

// StartSession asks to start a login session for a user who just proved who they are.
type StartSession struct {
	Environment string
	UserID      string
	TTL         time.Duration
	// Previous is the browser's current session, ended by this one ("" for none).
	Previous string
	Browser  Browser
	// AMR are the methods the person proved themselves with (nil: a password alone).
	AMR []string
}

// StartedSession is a new session and the token its cookie carries (shown once).
type StartedSession struct {
	Token   string
	Session sessions.Session
}

// StartSession starts a session (a new token at every sign-in: no fixation) and ends the
// browser's previous one: one browser, one session. The sessions read model shows the new
// session when it returns.
func (a *App) StartSession(ctx context.Context, req StartSession) (StartedSession, error) {
	tok := secret.Token()
	hash := secret.Hash(tok)
	// To the microsecond, as events are: a sign-in a moment after an operator ended the
	// user's sign-ins (user.sign_ins_ended) is told apart from one a moment before, in the
	// same second. Claims carry it in whole seconds (auth_time).
	now := eventstore.NormalizeTime(a.now())
	ev := session.Started{SessionID: session.ID(hash), UserID: req.UserID, TokenHash: hash, IP: req.Browser.IP,
		UserAgent: req.Browser.UserAgent, AuthTime: now, ExpiresAt: now.Add(req.TTL)}
	ev.AMR, ev.ACR = Methods(req.AMR)
	actor := req.Browser.actor(req.UserID)
	res, err := a.loop.Execute(ctx, session.Start{Environment: req.Environment, Session: ev}, actor)
	if err != nil {
		return StartedSession{}, err
	}
	if req.Previous != "" {
		if _, err := a.loop.Execute(ctx, session.Revoke{Environment: req.Environment, SessionID: req.Previous, Reason: session.ReasonRelogin}, actor); err != nil {
			a.log.Warn("could not end the previous session", "err", err)
		}
	}
	a.sessionsWritten(ctx, res.Position)
	return StartedSession{Token: tok, Session: sessions.Session{ID: ev.SessionID, UserID: req.UserID, TokenHash: hash,
		AuthTime: now, LastActivity: now, ExpiresAt: ev.ExpiresAt, AMR: ev.AMR, ACR: ev.ACR}}, nil
}

// Methods completes the methods a person signed in with into amr and acr: a password
// alone is ACRPassword; a password and a second factor add "mfa" and reach ACRMultiFactor.
func Methods(amr []string) ([]string, string) {
	if len(amr) == 0 {
		amr = []string{session.AMRPassword}
	}
	out := append([]string(nil), amr...)
	if len(out) > 1 && !slices.Contains(out, session.AMRMulti) {
		out = append(out, session.AMRMulti)
	}
	if slices.Contains(out, session.AMRMulti) {
		return out, session.ACRMultiFactor
	}
	return out, session.ACRPassword
}

// sessionsWritten waits until the sessions read model has applied a sign-in flow's own
// write; a lagging read model is logged, the answer stands.
func (a *App) sessionsWritten(ctx context.Context, pos int64) {
	if err := a.AfterWrite(ctx, pos, a.rm.SessionsReady); err != nil {
		a.log.Warn("session not yet projected", "err", err)
	}
}

// SignOut ends the browser's session (RP-initiated logout).
func (a *App) SignOut(ctx context.Context, req SessionRef, b Browser, userID string) error {
	_, err := a.loop.Execute(ctx, session.Revoke{Environment: req.Environment, SessionID: req.SessionID, Reason: session.ReasonLogout}, b.actor(userID))
	return err
}

// GrantConsent asks to remember that a user allowed a client these scopes.
type GrantConsent struct {
	Environment string
	UserID      string
	ClientID    string
	Scopes      oauth.Scopes
	Browser     Browser
}

// GrantConsent remembers a consent; the sessions read model shows it when it returns.
func (a *App) GrantConsent(ctx context.Context, req GrantConsent) error {
	res, err := a.loop.Execute(ctx, consent.Grant{Environment: req.Environment, UserID: req.UserID, ClientID: req.ClientID,
		Scopes: req.Scopes}, req.Browser.actor(req.UserID))
	if err != nil {
		return err
	}
	a.sessionsWritten(ctx, res.Position)
	return nil
}

// IssueCode asks for an authorization code for a validated authorization request and the
// session that approved it.
type IssueCode struct {
	Environment   string
	ClientID      string
	RedirectURI   string
	RedirectGiven bool
	Scope         string
	Nonce         string
	Challenge     string
	Resources     []string
	Session       sessions.Session
	Browser       Browser
}

// IssueCode records a code (its hash) and returns its value, shown once: in the redirect.
func (a *App) IssueCode(ctx context.Context, req IssueCode) (string, error) {
	code := secret.Token()
	_, err := a.loop.Execute(ctx, authcode.Issue{Environment: req.Environment, Code: authcode.Issued{
		CodeHash: secret.Hash(code), ClientID: req.ClientID, RedirectURI: req.RedirectURI, RedirectGiven: req.RedirectGiven,
		Scope: req.Scope, UserID: req.Session.UserID, SessionID: req.Session.ID, Nonce: req.Nonce, Challenge: req.Challenge,
		AuthTime: req.Session.AuthTime, Resources: req.Resources, AMR: req.Session.AMR, ACR: req.Session.ACR}},
		req.Browser.actor(req.Session.UserID))
	if err != nil {
		return "", err
	}
	return code, nil
}
