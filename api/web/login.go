package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
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
		Email: email, Error: msg, RegistrationEnabled: t.Settings.RegistrationEnabled, Script: true}, redirectTarget...)
}

// LoginForm serves GET /login: with a sealed authorization request (back from the
// registration pages) or without one (sign in to the environment).
func (h *Handlers) LoginForm(c *fiber.Ctx, t tenants.Tenant) error {
	flow := c.Query("flow")
	if flow != "" {
		if r, err := h.open(flow, t.Slug, h.Now()); err == nil {
			cl, _ := h.Catalog.Client(t.Slug, r.ClientID)
			return h.loginPage(c, t, cl.Settings.Name, flow, r.LoginHint, "", fiber.StatusOK, r.RedirectURI)
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
	u, err := h.App.CheckPassword(c.UserContext(), app.SignIn{Environment: t.Slug, Email: email, Password: c.FormValue("password"),
		Browser: browser(c)})
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
	return h.afterPassword(c, t, cl, req, flow, u)
}

// startSession starts a new session (ending the browser's previous one) and sets its cookie.
func (h *Handlers) startSession(c *fiber.Ctx, t tenants.Tenant, u catalog.User, amr []string) (sessions.Session, error) {
	var previous string
	if old, ok := h.heldSession(c, t); ok {
		previous = old.ID
	}
	started, err := h.App.StartSession(c.UserContext(), app.StartSession{Environment: t.Slug, UserID: u.ID,
		TTL: t.Settings.SessionTTL(), Previous: previous, Browser: browser(c), AMR: amr})
	if err != nil {
		return sessions.Session{}, err
	}
	h.setSessionCookie(c, started)
	return started.Session, nil
}

// setSessionCookie gives the browser a session that started.
func (h *Handlers) setSessionCookie(c *fiber.Ctx, started app.StartedSession) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: started.Token, Path: "/", HTTPOnly: true, Secure: h.Secure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: started.Session.ExpiresAt})
}
