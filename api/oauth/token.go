package oauth

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/tenants"
)

// tokenResponse is RFC 6749 §5.1's successful response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// Token serves POST /oauth/token: one flow per grant type (app.ClientCredentials,
// app.AuthorizationCode, app.Refresh).
func (h *Handlers) Token(c *fiber.Ctx, t tenants.Tenant) error {
	req, err := h.authenticatedForm(c, t)
	if err != nil {
		return h.fail(c, err, req.basic)
	}
	f, basic := req.form, req.basic
	grantType, err := f.require("grant_type")
	if err != nil {
		return h.fail(c, err, basic)
	}
	tr := app.TokenRequest{Tenant: t, Client: req.client, Actor: actorOf(c, req.client.ID), Scope: f["scope"], Resources: f.resources()}
	var resp app.TokenResponse
	var oe *oauth.Error
	switch grantType {
	case client.GrantClientCredentials:
		resp, oe = h.App.ClientCredentials(c.UserContext(), tr)
	case client.GrantAuthorizationCode:
		resp, oe = h.App.AuthorizationCode(c.UserContext(), app.CodeRequest{TokenRequest: tr, Code: f["code"],
			RedirectURI: f["redirect_uri"], CodeVerifier: f["code_verifier"]})
	case client.GrantRefreshToken:
		resp, oe = h.App.Refresh(c.UserContext(), app.RefreshRequest{TokenRequest: tr, RefreshToken: f["refresh_token"]})
	default:
		oe = oauth.ErrUnsupportedGrantType.WithDescription("grant type %q is not supported", truncate(grantType, 40))
	}
	if oe != nil {
		return h.fail(c, oe, basic)
	}
	noStore(c)
	return c.JSON(tokenResponse{AccessToken: resp.AccessToken, TokenType: resp.TokenType, ExpiresIn: resp.ExpiresIn,
		Scope: resp.Scope, RefreshToken: resp.RefreshToken, IDToken: resp.IDToken})
}

// actorOf is the actor of a request made by a client.
func actorOf(c *fiber.Ctx, clientID string) domain.Actor {
	return domain.Actor{Kind: domain.ActorClient, ID: clientID, IP: c.IP(), UserAgent: truncate(c.Get(fiber.HeaderUserAgent), 200)}
}
