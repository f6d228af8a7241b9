package oauth

import (
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// Client authentication methods (RFC 6749 §2.3, OpenID Connect Core §9).
const (
	AuthBasic = "client_secret_basic"
	AuthPost  = "client_secret_post"
	AuthNone  = "none"
)

// credentials is what a request presented to identify its client.
type credentials struct {
	id, secret string
	method     string
}

// readCredentials takes the client's credentials from the Authorization header (Basic) or
// the body; presenting both is refused (RFC 6749 §2.3).
func readCredentials(c *fiber.Ctx, f form) (credentials, error) {
	header := c.Get(fiber.HeaderAuthorization)
	if header != "" {
		scheme, value, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return credentials{method: AuthBasic}, oauth.ErrInvalidClient.WithDescription("only Basic authentication is accepted here")
		}
		if f["client_secret"] != "" {
			return credentials{method: AuthBasic}, oauth.ErrInvalidRequest.WithDescription("use one client authentication method, not two")
		}
		id, sec, err := parseBasic(value)
		if err != nil || (f["client_id"] != "" && f["client_id"] != id) {
			return credentials{method: AuthBasic}, oauth.ErrInvalidClient.WithDescription("malformed Basic credentials")
		}
		return credentials{id: id, secret: sec, method: AuthBasic}, nil
	}
	id := f["client_id"]
	if id == "" {
		return credentials{}, oauth.ErrInvalidClient.WithDescription("client authentication is required")
	}
	if sec := f["client_secret"]; sec != "" {
		return credentials{id: id, secret: sec, method: AuthPost}, nil
	}
	return credentials{id: id, method: AuthNone}, nil
}

// parseBasic decodes Basic credentials: base64 of url-encoded id ":" url-encoded secret
// (RFC 6749 §2.3.1).
func parseBasic(value string) (string, string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return "", "", err
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", oauth.ErrInvalidClient
	}
	id, err := url.QueryUnescape(rawID)
	if err != nil {
		return "", "", err
	}
	sec, err := url.QueryUnescape(rawSecret)
	if err != nil {
		return "", "", err
	}
	if id == "" {
		return "", "", oauth.ErrInvalidClient
	}
	return id, sec, nil
}

// authenticate checks credentials against the environment's clients. Confidential clients
// must present their secret (the previous one works until its grace period ends); public
// clients present none. Every failure looks the same to the caller.
func authenticate(cat *catalog.Catalog, t tenants.Tenant, cr credentials, now time.Time) (catalog.Client, error) {
	fail := oauth.ErrInvalidClient.WithDescription("client authentication failed")
	cl, ok := cat.Client(t.Slug, cr.id)
	if !ok {
		secret.Equal(cr.secret, strings.Repeat("0", 64)) // spend the same time as a real check
		return catalog.Client{}, fail
	}
	switch cl.Type {
	case client.Public:
		if cr.method != AuthNone {
			return catalog.Client{}, fail.WithDescription("public clients do not authenticate with a secret")
		}
	case client.Confidential:
		if cr.method == AuthNone {
			return catalog.Client{}, fail
		}
		current := secret.Equal(cr.secret, cl.SecretHash)
		previous := cl.PreviousSecretHash != "" && now.Before(cl.PreviousValidUntil) && secret.Equal(cr.secret, cl.PreviousSecretHash)
		if !current && !previous {
			return catalog.Client{}, fail
		}
	}
	return cl, nil
}

// clientRequest is a parsed, client-authenticated back-channel request.
type clientRequest struct {
	form   form
	client catalog.Client
	basic  bool // Basic was used: a 401 carries WWW-Authenticate
}

// authenticatedForm parses the form and authenticates the client (token, introspection and
// revocation all start this way). On error, req.basic still says how to render it.
func (h *Handlers) authenticatedForm(c *fiber.Ctx, t tenants.Tenant) (clientRequest, error) {
	f, err := parseForm(c)
	if err != nil {
		return clientRequest{}, err
	}
	cr, err := readCredentials(c, f)
	req := clientRequest{form: f, basic: cr.method == AuthBasic}
	if err != nil {
		return req, err
	}
	req.client, err = authenticate(h.Catalog, t, cr, h.Now())
	if err != nil && h.App.CatalogCurrent(c.UserContext()) {
		// A client registered, or a secret rotated, through another instance a moment ago.
		req.client, err = authenticate(h.Catalog, t, cr, h.Now())
	}
	return req, err
}
