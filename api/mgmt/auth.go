package mgmt

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api/ratelimit"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/tenants"
)

// caller is who called, from their access token.
type caller struct {
	clientID string
	scopes   oauth.Scopes
	// token is the bearer value (a copy), for a long answer that re-checks its caller.
	token string
}

type localKey int

const callerKey localKey = iota

// handler is a Management API handler: the tenant is passed explicitly.
type handler func(c *fiber.Ctx, t tenants.Tenant) error

// Route turns h into a fiber handler that requires a Bearer token of the environment, for
// its Management API, carrying scope; it applies the per-caller rate limit and renders
// errors as JSON.
func (h *Handlers) Route(scope string, fn handler, tenant func(*fiber.Ctx) tenants.Tenant, limiter *ratelimit.Limiter) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t := tenant(c)
		who, err := h.authenticate(c, t, scope)
		if err != nil {
			return h.bearerFail(c, scope, err)
		}
		if limiter != nil {
			l := t.Settings.RateLimits.Management
			d, err := limiter.Allow(c.UserContext(), "management:"+t.Slug+":"+who.clientID, l.Requests, l.Window())
			if err == nil {
				c.Set(ratelimit.HeaderLimit, strconv.Itoa(l.Requests))
				c.Set(ratelimit.HeaderRemaining, strconv.Itoa(d.Remaining))
			}
			if err == nil && !d.Allowed {
				secs := int(math.Ceil(d.RetryAfter.Seconds()))
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(secs, 1)))
				return h.Fail(c, &apiError{status: fiber.StatusTooManyRequests, code: "rate_limited",
					msg: "too many requests; retry after " + strconv.Itoa(max(secs, 1)) + " seconds"})
			}
		}
		c.Locals(callerKey, who)
		if err := fn(c, t); err != nil {
			return h.Fail(c, err)
		}
		return nil
	}
}

var (
	errNoToken       = errors.New("no token")
	errInsufficient  = errors.New("insufficient scope")
	errWrongAudience = errors.New("token is not for the Management API")
)

func (h *Handlers) authenticate(c *fiber.Ctx, t tenants.Tenant, scope string) (caller, error) {
	auth := c.Get(fiber.HeaderAuthorization)
	scheme, value, _ := strings.Cut(auth, " ")
	if auth == "" {
		return caller{}, errNoToken
	}
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
		return caller{}, errors.New("not a bearer token")
	}
	tok, err := h.Verify(c.UserContext(), t, strings.TrimSpace(value))
	if err != nil {
		return caller{}, err
	}
	aud := oauth.ManagementAudience(t.Issuer)
	ok := false
	for _, a := range tok.Audience {
		ok = ok || a == aud
	}
	if !ok {
		return caller{}, errWrongAudience
	}
	scopes := oauth.NewScopes(strings.Fields(tok.Scope)...)
	if !scopes.Has(scope) && !(scope == oauth.ScopeAdminRead && scopes.Has(oauth.ScopeAdminWrite)) {
		return caller{}, errInsufficient
	}
	return caller{clientID: tok.ClientID, scopes: scopes, token: strings.Clone(strings.TrimSpace(value))}, nil
}

// bearerFail answers 401/403 as RFC 6750 says.
func (h *Handlers) bearerFail(c *fiber.Ctx, scope string, err error) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	switch {
	case errors.Is(err, errNoToken):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="paylent"`)
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "invalid_token", "message": "an access token is required"})
	case errors.Is(err, errInsufficient):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="paylent", error="insufficient_scope", scope="`+scope+`"`)
		return c.Status(fiber.StatusForbidden).JSON(fiber.Map{"error": "insufficient_scope", "message": "the token lacks the scope " + scope})
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, errWrongAudience), err != nil && !isUnavailable(err):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="paylent", error="invalid_token"`)
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "invalid_token", "message": "the access token is invalid, expired, revoked, or not for this API"})
	}
	return h.Fail(c, err)
}

func callerOf(c *fiber.Ctx) caller {
	who, _ := c.Locals(callerKey).(caller)
	return who
}

// actor is the client acting through the Management API.
func actor(c *fiber.Ctx) domain.Actor {
	ua := c.Get(fiber.HeaderUserAgent)
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return domain.Actor{Kind: domain.ActorClient, ID: callerOf(c).clientID, IP: c.IP(), UserAgent: ua}
}

// grantor is the caller's authority over clients: the scopes of its token (admin:write
// holds admin:read too, as authentication grants it).
func grantor(c *fiber.Ctx) client.Grantor {
	holds := callerOf(c).scopes
	if holds.Has(oauth.ScopeAdminWrite) && !holds.Has(oauth.ScopeAdminRead) {
		holds = oauth.NewScopes(append(holds, oauth.ScopeAdminRead)...)
	}
	return client.Grantor{Holds: holds}
}
