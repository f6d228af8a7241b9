package web

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// Authorize serves GET and POST /oauth/authorize. Problems with the client or the redirect
// URI are shown on a page and never redirected (no open redirect); every other problem is
// redirected to the client with error, error_description, state and iss.
func (h *Handlers) Authorize(c *fiber.Ctx, t tenants.Tenant) error {
	params, repeated := authorizeParams(c)
	cl, ok := h.App.Client(c.UserContext(), t.Slug, params.Get("client_id"))
	if !ok || repeated == "client_id" {
		return errorPage(c, t, fiber.StatusBadRequest, "Unknown application", "The application that sent you here is not registered with "+t.Settings.DisplayName+".")
	}
	redirect, given, ok := redirectURI(cl, params.Get("redirect_uri"))
	if !ok || repeated == "redirect_uri" {
		return h.unregistered(c, t, "Invalid redirect", "The application asked to send you back to an address it has not registered.",
			devDetail{Parameter: "redirect_uri", Received: params.Get("redirect_uri"), ClientID: cl.ID, Known: true,
				Registered: cl.Settings.RedirectURIs})
	}
	req := authRequest{Env: t.Slug, ClientID: cl.ID, RedirectURI: redirect, RedirectGiven: given, State: params.Get("state")}
	if err := h.validate(t, cl, params, repeated, &req); err != nil {
		return h.redirectError(c, t, req, err)
	}
	return h.proceed(c, t, cl, req, nil)
}

// authorizeParams reads the request's parameters (query for GET, form for POST) and names
// one that appears more than once.
func authorizeParams(c *fiber.Ctx) (url.Values, string) {
	raw := string(c.Request().URI().QueryString())
	if c.Method() == fiber.MethodPost {
		raw = string(c.Body())
	}
	values, _ := url.ParseQuery(raw)
	for k, v := range values {
		if len(v) > 1 && k != "resource" { // RFC 8707 resource indicators may repeat
			return values, k
		}
	}
	return values, ""
}

// redirectURI picks the redirect URI: one of the registered ones (exactly, or a loopback IP
// one with any port, RFC 8252 §7.3), or the only one when none is given. The URI given is
// the one used, and the token request must repeat it.
func redirectURI(cl catalog.Client, given string) (string, bool, bool) {
	if given == "" {
		if len(cl.Settings.RedirectURIs) == 1 {
			return cl.Settings.RedirectURIs[0], false, true
		}
		return "", false, false
	}
	for _, u := range cl.Settings.RedirectURIs {
		if oauth.MatchRedirectURI(u, given) {
			return given, true, true
		}
	}
	return "", false, false
}

// validate checks everything but the client and the redirect URI, filling req.
func (h *Handlers) validate(t tenants.Tenant, cl catalog.Client, p url.Values, repeated string, req *authRequest) error {
	bad := oauth.ErrInvalidRequest.WithDescription
	switch {
	case repeated != "":
		return bad("parameter %q is repeated", repeated)
	case p.Get("response_type") != "code":
		return oauth.ErrUnsupportedResponseType.WithDescription("only response_type=code is supported")
	case !cl.Settings.Allows(client.GrantAuthorizationCode):
		return oauth.ErrUnauthorizedClient.WithDescription("this client may not use the authorization code flow")
	case p.Has("request"):
		return &oauth.Error{Code: "request_not_supported", Description: "request objects are not supported", Status: 400}
	case p.Has("request_uri"):
		return &oauth.Error{Code: "request_uri_not_supported", Description: "request_uri is not supported", Status: 400}
	}
	scope, err := oauth.ParseScopes(p.Get("scope"))
	if err != nil {
		return err
	}
	if len(scope) == 0 {
		return oauth.ErrInvalidScope.WithDescription("no scope requested")
	}
	if missing, ok := scope.SubsetOf(oauth.NewScopes(cl.Settings.Scopes...)); !ok {
		return oauth.ErrInvalidScope.WithDescription("scope %q is not allowed for this client", missing)
	}
	for _, s := range scope {
		if oauth.IsManagement(s) {
			return oauth.ErrInvalidScope.WithDescription("scope %q is granted to clients (client credentials), not through users", s)
		}
	}
	for _, s := range scope {
		if _, ok := h.Catalog.Scope(t.Slug, s); !ok {
			return oauth.ErrInvalidScope.WithDescription("scope %q does not exist", s)
		}
	}
	req.Scope, req.Nonce = scope.String(), p.Get("nonce")
	for _, r := range p["resource"] {
		if _, ok := h.Catalog.API(t.Slug, r); !ok {
			return oauth.ErrInvalidTarget.WithDescription("resource %q is not an API of this environment", truncate(r, 80))
		}
		req.Resources = append(req.Resources, r)
	}
	challenge, method := p.Get("code_challenge"), p.Get("code_challenge_method")
	switch {
	case challenge == "" && cl.Type == client.Public:
		return bad("public clients must use PKCE (code_challenge with code_challenge_method=S256)")
	case challenge == "" && method != "":
		return bad("code_challenge_method without code_challenge")
	case challenge != "" && method != oauth.PKCEMethodS256:
		return bad("code_challenge_method must be S256 (plain is not accepted)")
	case challenge != "" && !oauth.ValidPKCEValue(challenge):
		return bad("code_challenge is malformed")
	case len(req.State) > 1024 || len(req.Nonce) > 1024:
		return bad("state and nonce are limited to 1024 characters")
	}
	req.Challenge = challenge
	if err := h.validatePrompt(p, req); err != nil {
		return err
	}
	return validateExtensions(cl, p, req)
}

// maxClaimsParam bounds the claims parameter (OIDC Core §5.5).
const maxClaimsParam = 4096

// validateExtensions reads the OpenID Connect parameters that ask about the person rather
// than the client: acr_values (OIDC Core §3.1.2.1; the mfa class asks for a second factor,
// other values are voluntary and ignored), login_hint (prefills the email field) and claims
// (§5.5: for the claims Paylent holds). A malformed claims parameter is redirected as every
// other invalid parameter is.
func validateExtensions(cl catalog.Client, p url.Values, req *authRequest) error {
	if slices.Contains(strings.Fields(p.Get("acr_values")), session.ACRMultiFactor) {
		req.ACR = session.ACRMultiFactor
	}
	if hint := strings.TrimSpace(p.Get("login_hint")); len(hint) <= 254 {
		req.LoginHint = hint
	}
	raw := p.Get("claims")
	if raw == "" {
		return nil
	}
	if len(raw) > maxClaimsParam {
		return oauth.ErrInvalidRequest.WithDescription("claims is longer than %d bytes", maxClaimsParam)
	}
	var claims map[string]map[string]*claimRequest
	if err := json.Unmarshal([]byte(raw), &claims); err != nil {
		return oauth.ErrInvalidRequest.WithDescription("claims must be a JSON object of id_token and userinfo members (OIDC Core 5.5)")
	}
	honourClaims(cl, req, claims)
	return nil
}

// claimRequest is one claim of the claims parameter.
type claimRequest struct {
	Essential bool     `json:"essential"`
	Value     string   `json:"value"`
	Values    []string `json:"values"`
}

// claimScopes are the scopes that release the claims Paylent holds.
var claimScopes = map[string]string{"email": oauth.ScopeEmail, "email_verified": oauth.ScopeEmail, "name": oauth.ScopeProfile}

// honourClaims applies a claims request: email, email_verified and name are released as
// their scope releases them (when the client may use it; the consent page then shows it),
// in the ID token and at UserInfo; acr naming the mfa class asks for a second factor.
// Other claims are not held, and are not returned (§5.5: not an error).
func honourClaims(cl catalog.Client, req *authRequest, claims map[string]map[string]*claimRequest) {
	scope := oauth.NewScopes(strings.Fields(req.Scope)...)
	if !scope.Has(oauth.ScopeOpenID) {
		return
	}
	allowed := oauth.NewScopes(cl.Settings.Scopes...)
	for member, set := range claims {
		if member != "id_token" && member != "userinfo" {
			continue
		}
		for name, r := range set {
			if s, ok := claimScopes[name]; ok && allowed.Has(s) {
				scope = oauth.NewScopes(append(scope, s)...)
			}
			if name == "acr" && r != nil && (r.Value == session.ACRMultiFactor || slices.Contains(r.Values, session.ACRMultiFactor)) {
				req.ACR = session.ACRMultiFactor
			}
		}
	}
	req.Scope = scope.String()
}

// secondFactorRequired: the environment requires a second factor, or the request asked
// for the mfa class.
func secondFactorRequired(t tenants.Tenant, req *authRequest) bool {
	return t.Settings.RequireSecondFactor || req != nil && req.ACR == session.ACRMultiFactor
}

func (h *Handlers) validatePrompt(p url.Values, req *authRequest) error {
	prompts := strings.Fields(p.Get("prompt"))
	for _, v := range prompts {
		switch v {
		case "none", "login", "consent", "select_account":
			if v == "none" && len(prompts) > 1 {
				return oauth.ErrInvalidRequest.WithDescription("prompt=none cannot be combined with other values")
			}
		default:
			return oauth.ErrInvalidRequest.WithDescription("unknown prompt value %q", truncate(v, 20))
		}
	}
	req.Prompt = strings.Join(prompts, " ")
	req.MaxAge = -1
	if m := p.Get("max_age"); m != "" {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil || n < 0 {
			return oauth.ErrInvalidRequest.WithDescription("max_age must be a non-negative integer")
		}
		req.MaxAge = n
	}
	return nil
}

func (r authRequest) prompted(v string) bool {
	for _, p := range strings.Fields(r.Prompt) {
		if p == v {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
