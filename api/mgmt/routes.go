package mgmt

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api/ratelimit"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/tenants"
)

// Route describes one endpoint: the OpenAPI document is checked against this list.
type Route struct {
	Method, Path, Scope string
	handle              func(h *Handlers) handler
}

// Routes lists the Management API (paths relative to /api/v1, fiber syntax).
func Routes() []Route {
	r, w, u := oauth.ScopeAdminRead, oauth.ScopeAdminWrite, oauth.ScopeAdminUsers
	return []Route{
		{"GET", "/status", r, func(h *Handlers) handler { return h.Status }},
		// The raw events hold users' data (addresses, IPs, password hashes): admin:users.
		{"GET", "/events", u, func(h *Handlers) handler { return h.Events }},
		{"GET", "/audit", r, func(h *Handlers) handler { return h.Audit }},
		{"GET", "/settings", r, func(h *Handlers) handler { return h.GetSettings }},
		{"PATCH", "/settings", w, func(h *Handlers) handler { return h.UpdateSettings }},
		{"GET", "/clients", r, func(h *Handlers) handler { return h.ListClients }},
		{"POST", "/clients", w, func(h *Handlers) handler { return h.CreateClient }},
		{"GET", "/clients/:id", r, func(h *Handlers) handler { return h.GetClient }},
		{"PUT", "/clients/:id", w, func(h *Handlers) handler { return h.UpdateClient }},
		{"DELETE", "/clients/:id", w, func(h *Handlers) handler { return h.DeleteClient }},
		{"POST", "/clients/:id/secret", w, func(h *Handlers) handler { return h.RotateClientSecret }},
		{"GET", "/scopes", r, func(h *Handlers) handler { return h.ListScopes }},
		{"POST", "/scopes", w, func(h *Handlers) handler { return h.CreateScope }},
		{"PATCH", "/scopes/:name", w, func(h *Handlers) handler { return h.UpdateScope }},
		{"DELETE", "/scopes/:name", w, func(h *Handlers) handler { return h.DeleteScope }},
		{"GET", "/apis", r, func(h *Handlers) handler { return h.ListAPIs }},
		{"POST", "/apis", w, func(h *Handlers) handler { return h.CreateAPI }},
		{"GET", "/keys", r, func(h *Handlers) handler { return h.ListKeys }},
		{"POST", "/keys/rotate", w, func(h *Handlers) handler { return h.RotateKeys }},
		{"GET", "/users", u, func(h *Handlers) handler { return h.ListUsers }},
		{"POST", "/users", u, func(h *Handlers) handler { return h.CreateUser }},
		{"GET", "/users/:id", u, func(h *Handlers) handler { return h.GetUser }},
		{"PATCH", "/users/:id", u, func(h *Handlers) handler { return h.UpdateUser }},
		{"DELETE", "/users/:id", u, func(h *Handlers) handler { return h.DeleteUser }},
		{"POST", "/users/:id/password", u, func(h *Handlers) handler { return h.ResetPassword }},
		{"GET", "/users/:id/consents", u, func(h *Handlers) handler { return h.ListConsents }},
		{"DELETE", "/users/:id/consents/:client", u, func(h *Handlers) handler { return h.RevokeConsent }},
		{"GET", "/users/:id/factors", u, func(h *Handlers) handler { return h.ListFactors }},
		{"DELETE", "/users/:id/factors/:factor", u, func(h *Handlers) handler { return h.RemoveFactor }},
		{"GET", "/sessions", u, func(h *Handlers) handler { return h.ListSessions }},
		{"GET", "/sessions/:id", u, func(h *Handlers) handler { return h.GetSession }},
		{"POST", "/sessions/:id/:action", u, func(h *Handlers) handler { return h.SessionAction }},
		{"POST", "/tokens/revoke", u, func(h *Handlers) handler { return h.RevokeToken }},
	}
}

// Mount registers the Management API under /api/v1 of router.
func (h *Handlers) Mount(router fiber.Router, tenant func(*fiber.Ctx) tenants.Tenant, limiter *ratelimit.Limiter) {
	g := router.Group("/api/v1")
	g.Get("/openapi.json", OpenAPI)
	for _, rt := range Routes() {
		g.Add(rt.Method, rt.Path, h.Route(rt.Scope, rt.handle(h), tenant, limiter))
	}
	g.Use(func(c *fiber.Ctx) error {
		return h.Fail(c, &apiError{status: fiber.StatusNotFound, code: "not_found", msg: "no such endpoint"})
	})
}
