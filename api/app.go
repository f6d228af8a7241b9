package api

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/paylent/paylent/api/dashboard"
	"github.com/paylent/paylent/api/mgmt"
	"github.com/paylent/paylent/api/oauth"
	"github.com/paylent/paylent/api/ratelimit"
	"github.com/paylent/paylent/api/web"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/tenants"
	"go.opentelemetry.io/otel/trace"
)

// Check is one readiness probe (database, NATS, a projection).
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// Options wire the application.
type Options struct {
	Directory *tenants.Directory
	Checks    []Check
	Logger    *slog.Logger
	// OAuth serves the protocol endpoints; nil serves none (tests of the core).
	OAuth *oauth.Handlers
	// Web serves the authorization endpoint, login, consent and logout pages.
	Web *web.Handlers
	// Mgmt serves the Management API (/api/v1).
	Mgmt *mgmt.Handlers
	// Dashboard serves everything at dashboard.<public domain>.
	Dashboard *dashboard.Dashboard
	// RateLimiter enforces the environments' limits across instances; nil or
	// RateLimitsOff (PAYLENT_RATE_LIMITS=off) disables them.
	RateLimiter   *ratelimit.Limiter
	RateLimitsOff bool
	// Observer is told of every request (metrics); nil observes nothing.
	Observer RequestObserver
	// Tracer puts every request in a span (OpenTelemetry); nil: no spans.
	Tracer trace.Tracer
}

// BodyLimit caps every request body.
const BodyLimit = 1 << 20

// New builds the fiber application.
func New(opts Options) *fiber.App {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	app := fiber.New(fiber.Config{
		AppName:               "paylent",
		DisableStartupMessage: true,
		ErrorHandler:          ErrorHandler(log),
		BodyLimit:             BodyLimit,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
	})
	app.Use(recover.New())
	app.Use(requestid.New())
	app.Use(helmet.New(helmet.Config{ReferrerPolicy: "no-referrer", CrossOriginEmbedderPolicy: "unsafe-none"}))
	if opts.Tracer != nil {
		app.Use(traceRequests(opts.Tracer, opts.Directory))
	}
	if opts.Observer != nil {
		app.Use(observe(opts.Observer, opts.Directory))
	}
	app.Use(requestLog(log))

	h := &health{checks: opts.Checks, log: log}
	app.Get("/healthz", h.alive)
	app.Get("/readyz", h.ready)

	if d := opts.Dashboard; d != nil {
		serve := d.Handler()
		app.Use(func(c *fiber.Ctx) error {
			if label, ok := opts.Directory.Label(string(c.Request().Host())); ok && label == tenants.DashboardSlug {
				return serve(c)
			}
			return c.Next()
		})
	}
	app.Use(tenant(opts.Directory))
	app.Get("/", environmentInfo)
	if h := opts.OAuth; h != nil {
		app.All("/oauth/token", limit(opts, "token", func(t tenants.Tenant) environment.RateLimit {
			return t.Settings.RateLimits.Token
		}, oauthLimited), withTenant(h.Token))
		app.All("/oauth/introspect", withTenant(h.Introspect))
		app.All("/oauth/revoke", withTenant(h.Revoke))
		app.Get("/oauth/userinfo", withTenant(h.UserInfo))
		app.Post("/oauth/userinfo", withTenant(h.UserInfo))
		app.Get("/.well-known/openid-configuration", withTenant(h.Discovery))
		app.Get("/.well-known/oauth-authorization-server", withTenant(h.Discovery))
		app.Get("/.well-known/jwks.json", withTenant(h.JWKS))
		app.Get(oauth.EventKeysPath, withTenant(h.EventKeySet))
	}
	if m := opts.Mgmt; m != nil {
		var limiter *ratelimit.Limiter
		if !opts.RateLimitsOff {
			limiter = opts.RateLimiter
		}
		m.Mount(app, tenantOf, limiter)
	}
	if w := opts.Web; w != nil {
		app.Get("/assets/paylent.css", web.Stylesheet)
		app.Get("/assets/passkey.js", web.PasskeyScript)
		app.Get("/oauth/authorize", withTenant(w.Authorize))
		app.Post("/oauth/authorize", withTenant(w.Authorize))
		app.Get("/login", withTenant(w.LoginForm))
		app.Post("/login", limit(opts, "login", func(t tenants.Tenant) environment.RateLimit {
			return t.Settings.RateLimits.Login
		}, pageLimited), withTenant(w.Login))
		app.Post("/consent", withTenant(w.Consent))
		register := limit(opts, "register", func(t tenants.Tenant) environment.RateLimit {
			return t.Settings.RateLimits.Login
		}, pageLimited)
		app.Get("/register", withTenant(w.RegisterForm))
		app.Post("/register", register, withTenant(w.Register))
		app.Post("/register/verify", register, withTenant(w.RegisterVerify))
		app.Post("/register/complete", register, withTenant(w.RegisterComplete))
		recovery := limit(opts, "recover", func(t tenants.Tenant) environment.RateLimit {
			return t.Settings.RateLimits.Login
		}, pageLimited)
		app.Get("/recover", withTenant(w.RecoverForm))
		app.Post("/recover", recovery, withTenant(w.Recover))
		app.Post("/recover/verify", recovery, withTenant(w.RecoverVerify))
		app.Post("/recover/complete", recovery, withTenant(w.RecoverComplete))
		mfa := limit(opts, "second_factor", func(t tenants.Tenant) environment.RateLimit {
			return t.Settings.RateLimits.Login
		}, pageLimited)
		app.Post("/login/code", mfa, withTenant(w.LoginCode))
		app.Post("/login/enrol", mfa, withTenant(w.LoginEnrol))
		app.Post("/login/continue", withTenant(w.LoginContinue))
		app.Get("/account/security", withTenant(w.Security))
		app.Post("/account/totp", withTenant(w.EnrolTOTP))
		app.Post("/account/totp/confirm", mfa, withTenant(w.ConfirmTOTP))
		app.Post("/account/totp/remove", mfa, withTenant(w.RemoveTOTP))
		app.Post("/account/passkeys/begin", withTenant(w.PasskeyRegisterBegin))
		app.Post("/account/passkeys/finish", mfa, withTenant(w.PasskeyRegisterFinish))
		app.Post("/account/passkeys/remove", withTenant(w.RemovePasskey))
		app.Post("/login/passkey/begin", withTenant(w.PasskeySignInBegin))
		app.Post("/login/passkey/finish", mfa, withTenant(w.PasskeySignInFinish))
		app.Get("/oauth/logout", withTenant(w.Logout))
		app.Post("/oauth/logout", withTenant(w.Logout))
	}
	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app
}

// limit is the shared rate limit of an environment's endpoint, per client IP. When the
// shared store is unavailable it fails open (each instance enforces the limit alone):
// NATS being down must not stop token issuance.
func limit(opts Options, name string, of func(tenants.Tenant) environment.RateLimit,
	onLimited func(*fiber.Ctx, ratelimit.Decision) error) fiber.Handler {
	return ratelimit.Middleware(opts.RateLimiter, ratelimit.MiddlewareConfig{
		Name:     name,
		Disabled: opts.RateLimitsOff || opts.RateLimiter == nil,
		FailOpen: true,
		Key: func(c *fiber.Ctx) (string, bool) {
			return tenantOf(c).Slug + ":" + c.IP(), true
		},
		Limit: func(c *fiber.Ctx) (int, time.Duration) {
			l := of(tenantOf(c))
			return l.Requests, l.Window()
		},
		OnLimited: onLimited,
	})
}

func oauthLimited(c *fiber.Ctx, d ratelimit.Decision) error {
	return oauth.RateLimited(c, int(math.Ceil(d.RetryAfter.Seconds())))
}

func pageLimited(c *fiber.Ctx, d ratelimit.Decision) error {
	return web.TooManyAttempts(c, tenantOf(c), int(math.Ceil(d.RetryAfter.Seconds())))
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestid.ConfigDefault.ContextKey).(string)
	return id
}

func requestLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Render now so the logged status is the one sent.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				c.Status(fiber.StatusInternalServerError)
			}
			err = nil
		}
		level := slog.LevelInfo
		if p := c.Path(); p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/.well-known/") || strings.HasPrefix(p, "/assets/") {
			level = slog.LevelDebug // polled by probes, caches and resource servers: noise at info
		}
		attrs := []any{"method", c.Method(), "path", c.Path(), "status", c.Response().StatusCode(),
			"duration", time.Since(start), "request_id", requestID(c)}
		if t, ok := c.Locals(tenantKey).(tenants.Tenant); ok {
			attrs = append(attrs, "environment", t.Slug)
		}
		log.Log(c.UserContext(), level, "request", attrs...)
		return err
	}
}
