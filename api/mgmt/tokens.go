package mgmt

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/tenants"
)

// RevokeToken serves POST /api/v1/tokens/revoke: {"token": "<value>"} or {"jti": "<jti>"}
// revokes one token of the environment, whoever it was issued to; a refresh token ends its
// whole grant. The revocation reaches resource servers as token.revoked / grant.revoked.
func (h *Handlers) RevokeToken(c *fiber.Ctx, t tenants.Tenant) error {
	var in struct {
		Token string `json:"token"`
		JTI   string `json:"jti"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	ended, err := h.App.RevokeToken(c.UserContext(), app.RevokeToken{Environment: t.Slug, Token: in.Token, JTI: in.JTI}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "tokens", ended.Position); err != nil {
		return err
	}
	return wrote(c, fiber.StatusOK, ended.Position, fiber.Map{"revoked": true, "jti": ended.JTI,
		"grants": ended.Grants, "tokens": ended.Tokens})
}
