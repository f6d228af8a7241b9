package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/tenants"
)

// Deps wire the pages. Their state changes (sign-in, sessions, consent, codes,
// registration, account recovery, sign-out) are the operations layer's.
type Deps struct {
	App      *app.App
	Catalog  *catalog.Catalog
	Sessions *sessions.Store
	// Keys verifies id_token_hint at logout.
	Keys interface {
		VerificationKeys(env string, now time.Time) jwk.Set
	}
	// MasterKey keys the CSRF tokens and the signed authorization requests.
	MasterKey []byte
	// Scheme is the public scheme; cookies are Secure under https.
	Scheme string
	Secure bool
	// Dev is set on the embedded default only: the authorize and logout error pages then
	// name the redirect URI received and the ones registered (see devdetail.go).
	Dev    bool
	Now    func() time.Time
	Logger *slog.Logger
}

// Handlers serve the pages.
type Handlers struct {
	Deps
	log *slog.Logger
}

// New returns the handlers.
func New(d Deps) *Handlers {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.Secure = d.Scheme == "https"
	d.App.PrepareSignIn(context.Background())
	return &Handlers{Deps: d, log: d.Logger}
}

// sessionCookie is the login session's cookie (host-only: each environment has its own).
const sessionCookie = "paylent_session"

// currentSession returns the browser's session, if it still stands (app.SignedIn).
func (h *Handlers) currentSession(c *fiber.Ctx, t tenants.Tenant) (sessions.Session, bool) {
	tok := c.Cookies(sessionCookie)
	if len(tok) != 43 {
		return sessions.Session{}, false
	}
	return h.App.SignedIn(t.Slug, tok)
}

// heldSession returns the browser's active session even if it no longer stands
// (app.HeldSession): only to end it, when the person signs out or signs in again.
func (h *Handlers) heldSession(c *fiber.Ctx, t tenants.Tenant) (sessions.Session, bool) {
	tok := c.Cookies(sessionCookie)
	if len(tok) != 43 {
		return sessions.Session{}, false
	}
	return h.App.HeldSession(t.Slug, tok)
}

// touch records activity on a session, at most once a minute.
func (h *Handlers) touch(c *fiber.Ctx, t tenants.Tenant, s sessions.Session) {
	if h.Now().Sub(s.LastActivity) < session.TouchEvery {
		return
	}
	if _, err := h.App.TouchSession(c.UserContext(), app.TouchSession{Environment: t.Slug, SessionID: s.ID, IP: c.IP()}, actor(c, s.UserID)); err != nil {
		h.log.Warn("session touch failed", "err", err)
	}
}

// actor is a person acting through the browser.
func actor(c *fiber.Ctx, userID string) domain.Actor {
	ua := c.Get(fiber.HeaderUserAgent)
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return domain.Actor{Kind: domain.ActorUser, ID: userID, IP: c.IP(), UserAgent: ua}
}

// browser is where a person acts from, for the operations' events.
func browser(c *fiber.Ctx) app.Browser {
	a := actor(c, "")
	return app.Browser{IP: a.IP, UserAgent: a.UserAgent}
}
