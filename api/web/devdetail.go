package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/tenants"
)

// devDetail is what the authorize and logout error pages add on the embedded default
// (Deps.Dev): the URI the request carried and the ones the client registered, so that a
// newcomer sees at once what to register. Never on shared infrastructure, where these pages
// tell a stranger nothing about a client's registration.
type devDetail struct {
	// Parameter is the request's parameter (redirect_uri, post_logout_redirect_uri).
	Parameter string
	Received  string
	ClientID  string
	// Known is false when no registered client was named (Registered is then empty).
	Known      bool
	Registered []string
}

// maxLoggedURI bounds what a stranger's URI adds to a log line or a page.
const maxLoggedURI = 300

// unregistered answers a request whose redirect target the client did not register: the
// page (with the detail on the embedded default) and a warning in the log, which names the
// client and the URI received (never a secret: neither is one).
func (h *Handlers) unregistered(c *fiber.Ctx, t tenants.Tenant, title, message string, d devDetail) error {
	d.Received = truncate(d.Received, maxLoggedURI)
	h.log.Warn("redirect target not registered", "environment", t.Slug, "client_id", truncate(d.ClientID, 100),
		"parameter", d.Parameter, "received", d.Received, "registered", len(d.Registered))
	p := page{Title: title, Message: message}
	if h.Dev {
		p.Dev = &d
	}
	return render(c, t, fiber.StatusBadRequest, "error.html", p)
}
