package oauth

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/tenants"
)

// Revoke serves POST /oauth/revoke (RFC 7009) through app.RevokeByClient. Unknown, expired
// and foreign-environment tokens answer 200 (§2.2: the client cannot do anything about
// them); a token issued to another client is refused. After the 200, introspection on any
// instance answers inactive (it reads the log's head after the request arrives and waits
// for it), and resource servers learn it from token.revoked / grant.revoked on NATS.
func (h *Handlers) Revoke(c *fiber.Ctx, t tenants.Tenant) error {
	req, err := h.authenticatedForm(c, t)
	if err != nil {
		return h.fail(c, err, req.basic)
	}
	if oe := h.App.RevokeByClient(c.UserContext(), app.ClientRevokeRequest{Token: req.form["token"],
		TokenRequest: app.TokenRequest{Tenant: t, Client: req.client, Actor: actorOf(c, req.client.ID)}}); oe != nil {
		return h.fail(c, oe, req.basic)
	}
	noStore(c)
	return c.SendStatus(fiber.StatusOK)
}
