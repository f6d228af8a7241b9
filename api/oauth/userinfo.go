package oauth

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/tenants"
)

// userinfo is the UserInfo response (OpenID Connect Core §5.3.2).
type userinfo struct {
	Subject       string `json:"sub"`
	Name          string `json:"name,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// UserInfo serves GET and POST /oauth/userinfo for a Bearer token (RFC 6750) of a user that
// carries the openid scope; the claims follow the token's scopes.
func (h *Handlers) UserInfo(c *fiber.Ctx, t tenants.Tenant) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	value, err := bearer(c)
	if err != nil {
		return h.bearerFail(c, err)
	}
	if err := h.App.TokensCurrent(c.UserContext()); err != nil {
		return h.fail(c, err, false)
	}
	tok, err := h.App.LookupToken(c.UserContext(), t, value)
	switch {
	case errors.Is(err, app.ErrUnknownToken):
		return h.bearerFail(c, oauth.ErrInvalidToken.WithDescription("the access token is invalid, expired or revoked"))
	case err != nil:
		return h.fail(c, err, false)
	case !tok.Active(h.Now()) || tok.Kind != token.KindAccess:
		return h.bearerFail(c, oauth.ErrInvalidToken.WithDescription("the access token is invalid, expired or revoked"))
	}
	scope := oauth.NewScopes(strings.Fields(tok.Scope)...)
	if !scope.Has(oauth.ScopeOpenID) {
		return h.bearerFail(c, oauth.ErrInsufficientScope.WithDescription("the access token lacks the openid scope"))
	}
	u, ok := h.App.User(c.UserContext(), t.Slug, tok.Subject)
	if !ok {
		return h.bearerFail(c, oauth.ErrInvalidToken.WithDescription("the token's user no longer exists"))
	}
	c2 := app.ClaimsOf(scope, u)
	noStore(c)
	return c.JSON(userinfo{Subject: u.ID, Name: c2.Name, Email: c2.Email, EmailVerified: c2.EmailVerified})
}

// errNoBearer: the request carried no token at all (RFC 6750 §3.1: no error code then).
var errNoBearer = errors.New("no bearer token")

// bearer reads the access token from the Authorization header, or from a POST form body
// (RFC 6750 §2.2); never from the URL.
func bearer(c *fiber.Ctx) (string, error) {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		scheme, value, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
			return "", oauth.ErrInvalidRequest.WithDescription("use the Bearer scheme").WithStatus(fiber.StatusUnauthorized)
		}
		return strings.TrimSpace(value), nil
	}
	if c.Method() == fiber.MethodPost {
		if f, err := parseForm(c); err == nil && f["access_token"] != "" {
			return f["access_token"], nil
		}
	}
	return "", errNoBearer
}

// bearerFail answers a resource request per RFC 6750 §3 with WWW-Authenticate.
func (h *Handlers) bearerFail(c *fiber.Ctx, err error) error {
	noStore(c)
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="paylent"`)
		return c.Status(fiber.StatusUnauthorized).JSON(errorBody{Error: oauth.ErrInvalidToken.Code, ErrorDescription: "an access token is required"})
	}
	hdr := `Bearer realm="paylent", error="` + oe.Code + `", error_description="` + strings.ReplaceAll(oe.Description, `"`, `'`) + `"`
	if oe.Code == oauth.ErrInsufficientScope.Code {
		hdr += `, scope="openid"`
	}
	c.Set(fiber.HeaderWWWAuthenticate, hdr)
	return c.Status(oe.Status).JSON(errorBody{Error: oe.Code, ErrorDescription: oe.Description})
}
