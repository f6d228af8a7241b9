package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/tenants"
)

// Waiter waits until a projection has applied a position.
type Waiter interface {
	WaitFor(ctx context.Context, pos int64) error
}

// Deps wire the pages.
type Deps struct {
	Loop          *eventstore.Loop
	Store         eventstore.Store
	Registry      *domain.Registry
	Catalog       *catalog.Catalog
	Sessions      *sessions.Store
	SessionsReady Waiter
	// CatalogReady lets a login see users created, changed or disabled through any instance
	// up to the moment it arrived.
	CatalogReady Waiter
	// Keys verifies id_token_hint at logout.
	Keys interface {
		VerificationKeys(env string, now time.Time) jwk.Set
	}
	// MasterKey keys the CSRF tokens and the signed authorization requests.
	MasterKey []byte
	// Scheme is the public scheme; cookies are Secure under https.
	Scheme string
	Secure bool
	// Hasher hashes and verifies passwords within the process's budget.
	Hasher *secret.Hasher
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
	// The hash an unknown email is verified against, made now so that the first such login
	// costs what the others do (if this fails, the first login makes it).
	if _, err := d.Hasher.Dummy(context.Background()); err != nil {
		d.Logger.Warn("could not prepare the login's dummy hash", "err", err)
	}
	return &Handlers{Deps: d, log: d.Logger}
}

// sessionCookie is the login session's cookie (host-only: each environment has its own).
const sessionCookie = "paylent_session"

// currentSession returns the browser's active session, if any.
func (h *Handlers) currentSession(c *fiber.Ctx, t tenants.Tenant) (sessions.Session, bool) {
	tok := c.Cookies(sessionCookie)
	if len(tok) != 43 {
		return sessions.Session{}, false
	}
	s, ok := h.Sessions.ByTokenHash(t.Slug, secret.Hash(tok))
	if !ok || !s.Active(h.Now()) {
		return sessions.Session{}, false
	}
	return s, true
}

// touch records activity on a session, at most once a minute.
func (h *Handlers) touch(c *fiber.Ctx, t tenants.Tenant, s sessions.Session) {
	if h.Now().Sub(s.LastActivity) < session.TouchEvery {
		return
	}
	if _, err := h.Loop.Execute(c.UserContext(), session.Touch{Environment: t.Slug, SessionID: s.ID, IP: c.IP()}, actor(c, s.UserID)); err != nil {
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

// waitSessions waits (bounded) until the sessions projection has applied pos.
func (h *Handlers) waitSessions(ctx context.Context, pos int64) {
	if h.SessionsReady == nil || pos == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := h.SessionsReady.WaitFor(ctx, pos); err != nil {
		h.log.Warn("session not yet projected", "err", err)
	}
}
