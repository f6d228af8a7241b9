package oauth

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/tenants"
)

// introspection is RFC 7662 §2.2's response for an active token.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	// AuthTime, ACR and AMR: when and how the user signed in (user tokens; RFC 9470 lets a
	// resource server ask for more).
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
}

// Introspect serves POST /oauth/introspect. Only confidential clients may ask (the answer
// describes other clients' tokens). Anything not active is {"active": false} and nothing else.
func (h *Handlers) Introspect(c *fiber.Ctx, t tenants.Tenant) error {
	req, err := h.authenticatedForm(c, t)
	basic := req.basic
	if err != nil {
		return h.fail(c, err, basic)
	}
	if req.client.Type != client.Confidential {
		return h.fail(c, oauth.ErrInvalidClient.WithDescription("only confidential clients may introspect tokens"), basic)
	}
	value, err := req.form.require("token")
	if err != nil {
		return h.fail(c, err, basic)
	}
	if err := h.App.TokensCurrent(c.UserContext()); err != nil {
		return h.fail(c, err, basic)
	}
	tok, err := h.App.LookupToken(c.UserContext(), t, value)
	noStore(c)
	switch {
	case errors.Is(err, app.ErrUnknownToken):
		return c.JSON(introspection{Active: false})
	case err != nil:
		return h.fail(c, err, basic)
	case !tok.Active(h.Now()):
		return c.JSON(introspection{Active: false})
	}
	out := introspection{Active: true, Scope: tok.Scope, ClientID: tok.ClientID, Exp: tok.ExpiresAt.Unix(),
		Iat: tok.IssuedAt.Unix(), Nbf: tok.IssuedAt.Unix(), Sub: tok.Subject, Aud: tok.Audience, Iss: tok.Issuer, Jti: tok.JTI}
	if tok.AuthTime != nil {
		out.AuthTime, out.ACR, out.AMR = tok.AuthTime.Unix(), tok.ACR, tok.AMR
	}
	if tok.Kind == token.KindAccess {
		out.TokenType = "Bearer"
	} else {
		out.TokenType, out.Aud = "refresh_token", nil
	}
	return c.JSON(out)
}
