package oauth

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/projections/catalog"
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

// Token serves POST /oauth/token.
func (h *Handlers) Token(c *fiber.Ctx, t tenants.Tenant) error {
	req, err := h.authenticatedForm(c, t)
	if err != nil {
		return h.fail(c, err, req.basic)
	}
	f, cl, basic := req.form, req.client, req.basic
	grantType, err := f.require("grant_type")
	if err != nil {
		return h.fail(c, err, basic)
	}
	switch grantType {
	case client.GrantClientCredentials:
		err = h.clientCredentials(c, t, cl, f)
	case client.GrantAuthorizationCode:
		err = h.authorizationCode(c, t, cl, f)
	case client.GrantRefreshToken:
		err = h.refreshToken(c, t, cl, f)
	default:
		err = oauth.ErrUnsupportedGrantType.WithDescription("grant type %q is not supported", truncate(grantType, 40))
	}
	if err != nil {
		return h.fail(c, err, basic)
	}
	return nil
}

// clientCredentials is RFC 6749 §4.4: the client acts on its own behalf. No refresh token.
func (h *Handlers) clientCredentials(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, f form) error {
	if cl.Type != client.Confidential || !cl.Settings.Allows(client.GrantClientCredentials) {
		return oauth.ErrUnauthorizedClient.WithDescription("this client may not use the client_credentials grant")
	}
	allowed := oauth.NewScopes(cl.Settings.Scopes...).Without(oauth.ScopeOpenID, oauth.ScopeOfflineAccess)
	requested, err := oauth.ParseScopes(f["scope"])
	if err != nil {
		return err
	}
	if requested == nil {
		requested = allowed
	}
	if err := h.checkScopes(t, requested, allowed); err != nil {
		return err
	}
	if requested.Has(oauth.ScopeOpenID) || requested.Has(oauth.ScopeOfflineAccess) {
		return oauth.ErrInvalidScope.WithDescription("openid and offline_access need a user; client credentials have none")
	}
	aud, requested, err := Audience(h.Catalog, t, requested, f.resources())
	if err != nil {
		return err
	}
	tok, err := h.mintAccess(c.UserContext(), t, issuance{client: cl, subject: cl.ID, subjectKind: token.SubjectClient,
		scope: requested, audience: aud}, actorOf(c, cl.ID))
	if err != nil {
		return err
	}
	// No wait for the projection here: introspection reads the head of the log after the
	// request arrives and waits for it (or reads an unknown token through from the log), so
	// a just-issued opaque token introspects as active on any instance.
	noStore(c)
	return c.JSON(tokenResponse{AccessToken: tok.value, TokenType: "Bearer", ExpiresIn: tok.expiresIn, Scope: requested.String()})
}

// checkScopes refuses scopes that the client may not use or the environment does not have.
func (h *Handlers) checkScopes(t tenants.Tenant, requested, allowed oauth.Scopes) error {
	if missing, ok := requested.SubsetOf(allowed); !ok {
		return oauth.ErrInvalidScope.WithDescription("scope %q is not allowed for this client", missing)
	}
	for _, s := range requested {
		if _, ok := h.Catalog.Scope(t.Slug, s); !ok {
			return oauth.ErrInvalidScope.WithDescription("scope %q does not exist", s)
		}
	}
	return nil
}

// actorOf is the actor of a request made by a client.
func actorOf(c *fiber.Ctx, clientID string) domain.Actor {
	return domain.Actor{Kind: domain.ActorClient, ID: clientID, IP: c.IP(), UserAgent: truncate(c.Get(fiber.HeaderUserAgent), 200)}
}
