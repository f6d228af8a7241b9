package web

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// authorizePath is the authorization endpoint: proceed reads the OpenID Connect parameters
// below only from a request made to it (the pages after it carry them sealed).
const authorizePath = "/oauth/authorize"

// maxClaimsParam bounds the claims parameter (OIDC Core §5.5).
const maxClaimsParam = 4096

// extensions reads the authorization request's OpenID Connect parameters that ask about the
// person rather than the client: acr_values (OIDC Core §3.1.2.1; the mfa class asks for a
// second factor, other values are voluntary and ignored), login_hint (prefills the email
// field) and claims (§5.5: for the claims Paylent holds). It belongs with validate
// (authorize.go); it runs first thing in proceed, for requests to the endpoint.
func (h *Handlers) extensions(c *fiber.Ctx, cl catalog.Client, req *authRequest) error {
	p, _ := authorizeParams(c)
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
	return honourClaims(cl, req, claims)
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
func honourClaims(cl catalog.Client, req *authRequest, claims map[string]map[string]*claimRequest) error {
	scope := oauth.NewScopes(strings.Fields(req.Scope)...)
	if !scope.Has(oauth.ScopeOpenID) {
		return nil
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
	return nil
}

// secondFactorRequired: the environment requires a second factor, or the request asked
// for the mfa class.
func secondFactorRequired(t tenants.Tenant, req *authRequest) bool {
	return t.Settings.RequireSecondFactor || req != nil && req.ACR == session.ACRMultiFactor
}
