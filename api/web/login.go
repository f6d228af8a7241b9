package web

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/tenants"
)

// errLogin is the one message a failed login shows, whatever went wrong: a wrong email and a
// wrong password look the same.
const errLogin = "Wrong email or password. After repeated failures, wait a few minutes before trying again."

// errBusyLogin is shown when the password hasher's budget is spent: nothing was checked,
// and nothing is recorded against the account.
const errBusyLogin = "Too many sign-ins at once; try again in a moment."

// busyRetryAfter is the Retry-After (seconds) of an answer refused for a busy hasher.
const busyRetryAfter = "2"

// loginPage renders the login page.
// redirectTarget is where a successful login may redirect the browser (the form-action of
// the page must allow it).
func (h *Handlers) loginPage(c *fiber.Ctx, t tenants.Tenant, clientName, flow, email, msg string, status int, redirectTarget ...string) error {
	return render(c, t, status, "login.html", page{Title: "Sign in", CSRF: h.csrfToken(c), Flow: flow, ClientName: clientName,
		Email: email, Error: msg, RegistrationEnabled: t.Settings.RegistrationEnabled}, redirectTarget...)
}

// LoginForm serves GET /login: with a sealed authorization request (back from the
// registration pages) or without one (sign in to the environment).
func (h *Handlers) LoginForm(c *fiber.Ctx, t tenants.Tenant) error {
	flow := c.Query("flow")
	if flow != "" {
		if r, err := h.open(flow, t.Slug, h.Now()); err == nil {
			cl, _ := h.Catalog.Client(t.Slug, r.ClientID)
			return h.loginPage(c, t, cl.Settings.Name, flow, "", "", fiber.StatusOK, r.RedirectURI)
		}
	}
	return h.loginPage(c, t, "", "", "", "", fiber.StatusOK)
}

// Login serves POST /login.
func (h *Handlers) Login(c *fiber.Ctx, t tenants.Tenant) error {
	if !h.checkCSRF(c) {
		return errorPage(c, t, fiber.StatusForbidden, "Request refused", "This form was not sent from this site. Go back, reload the page and try again.")
	}
	flow := c.FormValue("flow")
	var req *authRequest
	var cl catalog.Client
	if flow != "" {
		r, err := h.open(flow, t.Slug, h.Now())
		if err != nil {
			return errorPage(c, t, fiber.StatusBadRequest, "Sign-in expired", "Go back to the application and start again.")
		}
		if cl, _ = h.Catalog.Client(t.Slug, r.ClientID); cl.ID == "" {
			return errorPage(c, t, fiber.StatusBadRequest, "Unknown application", "The application is no longer registered.")
		}
		req = &r
	}
	email := c.FormValue("email")
	u, err := h.authenticate(c, t, email, c.FormValue("password"))
	if err != nil {
		target := ""
		if req != nil {
			target = req.RedirectURI
		}
		if errors.Is(err, secret.ErrBusy) {
			c.Set(fiber.HeaderRetryAfter, busyRetryAfter)
			return h.loginPage(c, t, cl.Settings.Name, flow, email, errBusyLogin, fiber.StatusServiceUnavailable, target)
		}
		return h.loginPage(c, t, cl.Settings.Name, flow, email, errLogin, fiber.StatusUnauthorized, target)
	}
	sess, err := h.startSession(c, t, u)
	if err != nil {
		return err
	}
	if req == nil {
		return render(c, t, fiber.StatusOK, "signedin.html", page{Title: "Signed in", UserEmail: u.Email})
	}
	return h.proceed(c, t, cl, *req, &sess)
}

// authenticate checks a password. An unknown email, a locked account and a wrong password
// all cost one Argon2id verification, through the hasher, and give the same error; wrong
// passwords are recorded. A busy hasher (secret.ErrBusy) checked nothing: it is returned as
// is and recorded nowhere.
func (h *Handlers) authenticate(c *fiber.Ctx, t tenants.Tenant, email, password string) (catalog.User, error) {
	fail := errors.New("login failed")
	h.catchUpCatalog(c.UserContext())
	u, known := h.Catalog.UserByEmail(t.Slug, email)
	locked := known && (u.Disabled || h.Now().Before(user.Lockout(u.FailedLogins, u.LastFailure)))
	stored, err := u.PasswordHash, error(nil)
	if !known || locked {
		stored, err = h.Hasher.Dummy(c.UserContext())
	}
	ok := false
	if err == nil {
		ok, err = h.Hasher.Verify(c.UserContext(), stored, password)
	}
	if errors.Is(err, secret.ErrBusy) || c.UserContext().Err() != nil {
		return catalog.User{}, secret.ErrBusy
	}
	if !known || locked {
		return catalog.User{}, fail
	}
	if err != nil || !ok {
		if _, err := h.Loop.Execute(c.UserContext(), user.RecordLoginFailure{Environment: t.Slug, UserID: u.ID, IP: c.IP(),
			UserAgent: actor(c, u.ID).UserAgent}, actor(c, u.ID)); err != nil {
			h.log.Warn("could not record a failed login", "err", err)
		}
		return catalog.User{}, fail
	}
	return u, nil
}

// startSession creates a new session (a new token at every login: no fixation) and sets its
// cookie.
func (h *Handlers) startSession(c *fiber.Ctx, t tenants.Tenant, u catalog.User) (sessions.Session, error) {
	tok := secret.Token()
	hash := secret.Hash(tok)
	now := h.Now().UTC().Truncate(time.Second)
	ev := session.Started{SessionID: session.ID(hash), UserID: u.ID, TokenHash: hash, IP: c.IP(),
		UserAgent: actor(c, u.ID).UserAgent, AuthTime: now, ExpiresAt: now.Add(t.Settings.SessionTTL())}
	res, err := h.Loop.Execute(c.UserContext(), session.Start{Environment: t.Slug, Session: ev}, actor(c, u.ID))
	if err != nil {
		return sessions.Session{}, err
	}
	// The previous session of this browser ends: one browser, one session.
	if old, ok := h.currentSession(c, t); ok {
		if _, err := h.Loop.Execute(c.UserContext(), session.Revoke{Environment: t.Slug, SessionID: old.ID, Reason: session.ReasonRelogin}, actor(c, u.ID)); err != nil {
			h.log.Warn("could not end the previous session", "err", err)
		}
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: tok, Path: "/", HTTPOnly: true, Secure: h.Secure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: ev.ExpiresAt})
	h.waitSessions(c.UserContext(), res.Position)
	return sessions.Session{ID: ev.SessionID, UserID: u.ID, TokenHash: hash, AuthTime: now, LastActivity: now, ExpiresAt: ev.ExpiresAt}, nil
}

// catchUpCatalog waits (bounded) until the catalog has applied the log's head as read after
// the request arrived: a user just created, or disabled, through another instance is seen.
// Every login pays it, whatever its outcome, so it reveals nothing about the account.
func (h *Handlers) catchUpCatalog(ctx context.Context) {
	if h.CatalogReady == nil || h.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	head, err := h.Store.Head(ctx)
	if err == nil {
		err = h.CatalogReady.WaitFor(ctx, head)
	}
	if err != nil {
		h.log.Warn("login answers from a catalog that may lag", "err", err)
	}
}
