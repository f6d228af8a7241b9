package oauth

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/tenants"
)

// Revoke serves POST /oauth/revoke (RFC 7009). Unknown, expired and foreign-environment
// tokens answer 200 (§2.2: the client cannot do anything about them); a token issued to
// another client is refused. After the 200, introspection on any instance answers inactive
// (it reads the log's head after the request arrives and waits for it), and resource
// servers learn it from token.revoked / grant.revoked on NATS.
func (h *Handlers) Revoke(c *fiber.Ctx, t tenants.Tenant) error {
	req, err := h.authenticatedForm(c, t)
	cl, basic := req.client, req.basic
	if err != nil {
		return h.fail(c, err, basic)
	}
	value, err := req.form.require("token")
	if err != nil {
		return h.fail(c, err, basic)
	}
	tok, err := h.lookup(c.UserContext(), t, value)
	switch {
	case errors.Is(err, errUnknownToken):
		noStore(c)
		return c.SendStatus(fiber.StatusOK)
	case err != nil:
		return h.fail(c, err, basic)
	case tok.ClientID != cl.ID:
		return h.fail(c, oauth.ErrUnauthorizedClient.WithDescription("the token was not issued to this client"), basic)
	}
	if tok.Active(h.Now()) {
		var cmd domain.Command = token.Revoke{Environment: t.Slug, JTI: tok.JTI, Reason: "revoked_by_client"}
		if tok.Kind == token.KindRefresh && tok.GrantID != "" {
			// Revoking a refresh token ends its grant and every token issued under it.
			cmd = grant.Revoke{Environment: t.Slug, GrantID: tok.GrantID, Reason: grant.ReasonClient}
		}
		res, err := h.Loop.Execute(c.UserContext(), cmd, actorOf(c, cl.ID))
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return h.fail(c, err, basic)
		}
		if err := h.readYourWrite(c.UserContext(), res.Position); err != nil {
			h.log.Warn("revocation recorded but not yet projected", "err", err)
		}
	}
	noStore(c)
	return c.SendStatus(fiber.StatusOK)
}
