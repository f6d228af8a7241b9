package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// idClaims are an ID token's claims (OpenID Connect Core §2, §5.1).
type idClaims struct {
	Issuer        string `json:"iss"`
	Subject       string `json:"sub"`
	Audience      string `json:"aud"`
	AZP           string `json:"azp"`
	ExpiresAt     int64  `json:"exp"`
	IssuedAt      int64  `json:"iat"`
	AuthTime      int64  `json:"auth_time"`
	Nonce         string `json:"nonce,omitempty"`
	AtHash        string `json:"at_hash,omitempty"`
	SID           string `json:"sid,omitempty"`
	Name          string `json:"name,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// idSubject is who an ID token is about and how they signed in.
type idSubject struct {
	user      catalog.User
	authTime  time.Time
	nonce     string
	sessionID string
}

// idToken signs an ID token for the client, with the claims its scopes allow.
func (h *Handlers) idToken(ctx context.Context, t tenants.Tenant, clientID string, scope oauth.Scopes, who idSubject, accessToken string) (string, error) {
	now := eventNow(h.Now())
	c := idClaims{Issuer: t.Issuer, Subject: who.user.ID, Audience: clientID, AZP: clientID,
		ExpiresAt: now.Add(t.Settings.AccessTokenTTL()).Unix(), IssuedAt: now.Unix(), AuthTime: who.authTime.Unix(),
		Nonce: who.nonce, AtHash: atHash(accessToken), SID: who.sessionID}
	addUserClaims(&c, scope, who.user)
	return h.signJWT(ctx, t.Slug, "JWT", c)
}

// addUserClaims adds the profile and email claims that the scopes grant.
func addUserClaims(c *idClaims, scope oauth.Scopes, u catalog.User) {
	if scope.Has(oauth.ScopeProfile) {
		c.Name = u.Name
	}
	if scope.Has(oauth.ScopeEmail) {
		verified := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &verified
	}
}

// atHash is the left half of the access token's SHA-256, base64url (OIDC Core §3.1.3.6).
func atHash(accessToken string) string {
	if accessToken == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// rotatedRefresh derives the refresh token that replaces value: a keyed hash of it, so that
// presenting the same old token within the retry window yields the same new one without the
// new one ever being stored in clear.
func (h *Handlers) rotatedRefresh(env, value string) string {
	k := hmac.New(sha256.New, h.RotationKey)
	k.Write([]byte("paylent refresh rotation v1\x00" + env))
	envKey := k.Sum(nil)
	m := hmac.New(sha256.New, envKey)
	m.Write([]byte(value))
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// refreshPrefix marks Paylent refresh tokens (secret scanners can recognise them).
const refreshPrefix = "prt_"
