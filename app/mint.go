package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// Token minting: what the flows produce. Access tokens are signed JWTs (RFC 9068) or random
// opaque values, by the client's or the environment's format; refresh tokens are opaque.
// Only hashes enter the events.

// accessClaims are the claims of a JWT access token (RFC 9068).
type accessClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	JTI       string   `json:"jti"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id"`
	// AuthTime, ACR and AMR say when and how the user signed in (RFC 9068 §2.2.1; resource
	// servers apply RFC 9470 step-up with them). Absent for client credentials.
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
}

// issuance is what a token is issued for.
type issuance struct {
	client      catalog.Client
	subject     string
	subjectKind string
	scope       oauth.Scopes
	audience    []string
	// auth is how the user signed in (nil for client credentials).
	auth *authentication
}

// authentication is when and how a user signed in, as tokens carry it.
type authentication struct {
	at  time.Time
	acr string
	amr []string
}

// authOf completes what a code, a grant or a refresh token recorded (nothing: a password).
func authOf(at time.Time, amr []string, acr string) *authentication {
	if len(amr) == 0 {
		amr, acr = Methods(nil)
	}
	return &authentication{at: at, acr: acr, amr: amr}
}

// tokenFormat is the client's format, or the environment's.
func tokenFormat(t tenants.Tenant, cl catalog.Client) environment.TokenFormat {
	if cl.Settings.TokenFormat != "" {
		return cl.Settings.TokenFormat
	}
	return t.Settings.TokenFormat
}

// buildAccess mints an access token (signed JWT or random opaque value) and the event that
// records it, without recording it.
func (a *App) buildAccess(ctx context.Context, t tenants.Tenant, g issuance) (string, token.Issued, error) {
	now := eventNow(a.now())
	ev := token.Issued{Kind: token.KindAccess, ClientID: g.client.ID, Subject: g.subject, SubjectKind: g.subjectKind,
		Scope: g.scope.String(), Audience: g.audience, IssuedAt: now, ExpiresAt: now.Add(t.Settings.AccessTokenTTL())}
	var claims accessClaims
	if g.auth != nil {
		at := g.auth.at.UTC()
		ev.AuthTime, ev.ACR, ev.AMR = &at, g.auth.acr, g.auth.amr
		claims.AuthTime, claims.ACR, claims.AMR = at.Unix(), g.auth.acr, g.auth.amr
	}
	if tokenFormat(t, g.client) == environment.TokenOpaque {
		value := "pat_" + secret.Token()
		ev.Format, ev.TokenHash = token.FormatOpaque, secret.Hash(value)
		ev.JTI = token.HashJTI(ev.TokenHash)
		return value, ev, nil
	}
	ev.Format, ev.JTI = token.FormatJWT, secret.ID()
	claims.Issuer, claims.Subject, claims.Audience, claims.ExpiresAt = t.Issuer, g.subject, g.audience, ev.ExpiresAt.Unix()
	claims.IssuedAt, claims.NotBefore, claims.JTI, claims.Scope, claims.ClientID = now.Unix(), now.Unix(), ev.JTI, ev.Scope, g.client.ID
	signed, err := a.signJWT(ctx, t.Slug, "at+jwt", claims)
	return signed, ev, err
}

// buildRefresh prepares a refresh token event for value (not recorded).
func (a *App) buildRefresh(t tenants.Tenant, g issuance, value string) (string, token.Issued) {
	now := eventNow(a.now())
	hash := secret.Hash(value)
	ev := token.Issued{JTI: token.HashJTI(hash), Kind: token.KindRefresh, Format: token.FormatOpaque,
		TokenHash: hash, ClientID: g.client.ID, Subject: g.subject, SubjectKind: g.subjectKind, Scope: g.scope.String(),
		IssuedAt: now, ExpiresAt: now.Add(t.Settings.RefreshTokenTTL())}
	if g.auth != nil {
		at := g.auth.at.UTC()
		ev.AuthTime, ev.ACR, ev.AMR = &at, g.auth.acr, g.auth.amr
	}
	return value, ev
}

// signJWT signs claims with the environment's primary key, in its algorithm (RS256 or ES256). Environments are created with
// their keys in one append, so a missing key means this instance has not applied that
// append yet: the request waits, once and bounded, until the keys read model is current
// (Current). No request creates keys.
func (a *App) signJWT(ctx context.Context, env, typ string, claims any) (string, error) {
	signer, err := a.rm.Keys.Signer(env)
	if errors.Is(err, domain.ErrNotFound) && a.rm.KeysReady != nil && a.rm.Head != nil {
		_ = a.Current(ctx, a.rm.KeysReady) // Signer below says whether it was enough
		signer, err = a.rm.Keys.Signer(env)
	}
	if errors.Is(err, domain.ErrNotFound) {
		return "", oauth.ErrTemporarilyUnavailable.WithDescription("the environment has no signing key; retry in a moment").WithCause(err)
	}
	if err != nil {
		return "", fmt.Errorf("signing key of %s: %w", env, err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, signer.KID); err != nil {
		return "", err
	}
	if err := hdr.Set(jws.TypeKey, typ); err != nil {
		return "", err
	}
	alg := signer.Alg
	if alg == "" {
		alg = jwa.RS256 // a Signer made before algorithms were a choice
	}
	signed, err := jws.Sign(payload, jws.WithKey(alg, signer.Key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}

// eventNow is the clock at the precision events keep (whole microseconds, UTC); JWT times
// are whole seconds of the same instant.
func eventNow(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// rotatedRefresh derives the refresh token that replaces value: a keyed hash of it, so that
// presenting the same old token within the retry window yields the same new one without the
// new one ever being stored in clear.
func (a *App) rotatedRefresh(env, value string) string {
	k := hmac.New(sha256.New, a.masterKey)
	k.Write([]byte("paylent refresh rotation v1\x00" + env))
	envKey := k.Sum(nil)
	m := hmac.New(sha256.New, envKey)
	m.Write([]byte(value))
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// refreshPrefix marks Paylent refresh tokens (secret scanners can recognise them).
const refreshPrefix = "prt_"

// idClaims are an ID token's claims (OpenID Connect Core §2, §5.1).
type idClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	AZP       string `json:"azp"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	AuthTime  int64  `json:"auth_time"`
	Nonce     string `json:"nonce,omitempty"`
	AtHash    string `json:"at_hash,omitempty"`
	SID       string `json:"sid,omitempty"`
	// AMR and ACR say how the person signed in (OIDC Core §2; RFC 8176 values).
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
	UserClaims
}

// UserClaims are the profile and email claims a user's scopes grant (ID tokens, UserInfo).
type UserClaims struct {
	Name          string `json:"name,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// ClaimsOf returns the profile and email claims that scope grants of u.
func ClaimsOf(scope oauth.Scopes, u catalog.User) UserClaims {
	var c UserClaims
	if scope.Has(oauth.ScopeProfile) {
		c.Name = u.Name
	}
	if scope.Has(oauth.ScopeEmail) {
		verified := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &verified
	}
	return c
}

// idSubject is who an ID token is about and how they signed in.
type idSubject struct {
	user      catalog.User
	authTime  time.Time
	nonce     string
	sessionID string
	amr       []string
	acr       string
}

// idToken signs an ID token for the client, with the claims its scopes allow.
func (a *App) idToken(ctx context.Context, t tenants.Tenant, clientID string, scope oauth.Scopes, who idSubject, accessToken string) (string, error) {
	now := eventNow(a.now())
	c := idClaims{Issuer: t.Issuer, Subject: who.user.ID, Audience: clientID, AZP: clientID,
		ExpiresAt: now.Add(t.Settings.AccessTokenTTL()).Unix(), IssuedAt: now.Unix(), AuthTime: who.authTime.Unix(),
		Nonce: who.nonce, AtHash: atHash(accessToken), SID: who.sessionID, UserClaims: ClaimsOf(scope, who.user)}
	c.AMR, c.ACR = who.amr, who.acr
	if len(c.AMR) == 0 {
		c.AMR, c.ACR = Methods(nil)
	}
	return a.signJWT(ctx, t.Slug, "JWT", c)
}

// atHash is the left half of the access token's SHA-256, base64url (OIDC Core §3.1.3.6).
func atHash(accessToken string) string {
	if accessToken == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
