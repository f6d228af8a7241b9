package oauth

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/tenants"
)

// discoveryMaxAge is how long clients may cache discovery and JWKS (seconds). Rotation
// publishes the next key ahead of time, so a cached JWKS always knows the signing key.
const discoveryMaxAge = "public, max-age=300"

// metadata is the authorization server's metadata (RFC 8414, OpenID Connect Discovery 1.0).
// It lists what this build supports and nothing more.
type metadata struct {
	Issuer                          string   `json:"issuer"`
	AuthorizationEndpoint           string   `json:"authorization_endpoint"`
	EndSessionEndpoint              string   `json:"end_session_endpoint"`
	ResponseModesSupported          []string `json:"response_modes_supported"`
	IssParameterSupported           bool     `json:"authorization_response_iss_parameter_supported"`
	TokenEndpoint                   string   `json:"token_endpoint"`
	JWKSURI                         string   `json:"jwks_uri"`
	IntrospectionEndpoint           string   `json:"introspection_endpoint"`
	RevocationEndpoint              string   `json:"revocation_endpoint"`
	UserInfoEndpoint                string   `json:"userinfo_endpoint"`
	ScopesSupported                 []string `json:"scopes_supported"`
	ResponseTypesSupported          []string `json:"response_types_supported"`
	GrantTypesSupported             []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods        []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethod []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods   []string `json:"revocation_endpoint_auth_methods_supported"`
	AccessTokenSigningAlgs          []string `json:"access_token_signing_alg_values_supported"`
	IDTokenSigningAlgs              []string `json:"id_token_signing_alg_values_supported"`
	SubjectTypes                    []string `json:"subject_types_supported"`
	ClaimsSupported                 []string `json:"claims_supported"`
	CodeChallengeMethods            []string `json:"code_challenge_methods_supported"`
	ResourceIndicatorsSupported     bool     `json:"resource_indicators_supported"`
	ACRValuesSupported              []string `json:"acr_values_supported"`
	ClaimsParameterSupported        bool     `json:"claims_parameter_supported"`
	// PaylentEventSigningJWKSURI is Paylent's own metadata: the Ed25519 keys (JWK set) that
	// verify the signature of every event message on NATS (docs/EVENTS.md).
	PaylentEventSigningJWKSURI string `json:"paylent_event_signing_jwks_uri,omitempty"`
}

// Discovery serves /.well-known/openid-configuration and /.well-known/oauth-authorization-server.
// The signing algorithms named are the environment's one (RS256, or ES256 where the tenant
// chose it: OpenID Connect Discovery asks for RS256, which such an environment does not
// sign with; docs/ARCHITECTURE.md "Signing keys at scale").
func (h *Handlers) Discovery(c *fiber.Ctx, t tenants.Tenant) error {
	scopes := []string{}
	for _, s := range h.Catalog.Scopes(t.Slug) {
		scopes = append(scopes, s.Name)
	}
	algs := []string{environment.SigningAlgOf(t.SigningAlg)}
	c.Set(fiber.HeaderCacheControl, discoveryMaxAge)
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.JSON(metadata{
		Issuer:                          t.Issuer,
		AuthorizationEndpoint:           t.Issuer + "/oauth/authorize",
		EndSessionEndpoint:              t.Issuer + "/oauth/logout",
		ResponseModesSupported:          []string{"query"},
		IssParameterSupported:           true,
		TokenEndpoint:                   t.Issuer + "/oauth/token",
		JWKSURI:                         t.Issuer + "/.well-known/jwks.json",
		IntrospectionEndpoint:           t.Issuer + "/oauth/introspect",
		RevocationEndpoint:              t.Issuer + "/oauth/revoke",
		UserInfoEndpoint:                t.Issuer + "/oauth/userinfo",
		ScopesSupported:                 scopes,
		ResponseTypesSupported:          []string{"code"},
		GrantTypesSupported:             []string{"authorization_code", "client_credentials", "refresh_token"},
		TokenEndpointAuthMethods:        []string{AuthBasic, AuthPost, AuthNone},
		IntrospectionEndpointAuthMethod: []string{AuthBasic, AuthPost},
		RevocationEndpointAuthMethods:   []string{AuthBasic, AuthPost, AuthNone},
		AccessTokenSigningAlgs:          algs,
		IDTokenSigningAlgs:              algs,
		SubjectTypes:                    []string{"public"},
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "sid",
			"name", "email", "email_verified", "acr", "amr"},
		ACRValuesSupported:          []string{session.ACRPassword, session.ACRMultiFactor},
		ClaimsParameterSupported:    true,
		CodeChallengeMethods:        []string{oauth.PKCEMethodS256},
		ResourceIndicatorsSupported: true,
		PaylentEventSigningJWKSURI:  h.eventKeysURI(t),
	})
}

// JWKS serves /.well-known/jwks.json: the primary, the next and the still-valid retired keys.
func (h *Handlers) JWKS(c *fiber.Ctx, t tenants.Tenant) error {
	doc, err := h.Keys.JWKS(t.Slug, h.Now())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, discoveryMaxAge)
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(doc)
}

// EventKeysPath is where the event-signing keys are published, on every environment's host.
const EventKeysPath = "/.well-known/paylent-event-keys.json"

func (h *Handlers) eventKeysURI(t tenants.Tenant) string {
	if h.EventKeys == nil {
		return ""
	}
	return t.Issuer + EventKeysPath
}

// EventKeySet serves the event-signing keys: an Ed25519 JWK set (kty OKP, crv Ed25519). The
// keys are the same for every environment (they belong to the deployment's relay).
func (h *Handlers) EventKeySet(c *fiber.Ctx, _ tenants.Tenant) error {
	if h.EventKeys == nil {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, discoveryMaxAge)
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.JSON(h.EventKeys.JWKS())
}
