package oauth

import (
	"context"
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
}

// issuance is what an access token is issued for.
type issuance struct {
	client      catalog.Client
	subject     string
	subjectKind string
	scope       oauth.Scopes
	audience    []string
	grantID     string
}

// issued is a minted access token.
type issued struct {
	value     string
	expiresIn int64
	position  int64
	format    string
}

// tokenFormat is the client's format, or the environment's.
func tokenFormat(t tenants.Tenant, cl catalog.Client) environment.TokenFormat {
	if cl.Settings.TokenFormat != "" {
		return cl.Settings.TokenFormat
	}
	return t.Settings.TokenFormat
}

// mintAccess creates an access token and records it as an event (token.issued).
func (h *Handlers) mintAccess(ctx context.Context, t tenants.Tenant, g issuance, actor domain.Actor) (issued, error) {
	value, ev, err := h.buildAccess(ctx, t, g)
	if err != nil {
		return issued{}, err
	}
	res, err := h.Loop.Execute(ctx, token.Issue{Environment: t.Slug, Token: ev}, actor)
	if err != nil {
		return issued{}, fmt.Errorf("record token: %w", err)
	}
	return issued{value: value, expiresIn: int64(t.Settings.AccessTokenTTL() / time.Second), position: res.Position, format: ev.Format}, nil
}

// buildAccess mints an access token (signed JWT or random opaque value) and the event that
// records it, without recording it.
func (h *Handlers) buildAccess(ctx context.Context, t tenants.Tenant, g issuance) (string, token.Issued, error) {
	now := eventNow(h.Now())
	ev := token.Issued{Kind: token.KindAccess, ClientID: g.client.ID, Subject: g.subject, SubjectKind: g.subjectKind,
		Scope: g.scope.String(), Audience: g.audience, IssuedAt: now, ExpiresAt: now.Add(t.Settings.AccessTokenTTL()), GrantID: g.grantID}
	if tokenFormat(t, g.client) == environment.TokenOpaque {
		value := "pat_" + secret.Token()
		ev.Format, ev.TokenHash = token.FormatOpaque, secret.Hash(value)
		ev.JTI = token.HashJTI(ev.TokenHash)
		return value, ev, nil
	}
	ev.Format, ev.JTI = token.FormatJWT, secret.ID()
	signed, err := h.signJWT(ctx, t.Slug, "at+jwt", accessClaims{Issuer: t.Issuer, Subject: g.subject, Audience: g.audience,
		ExpiresAt: ev.ExpiresAt.Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(), JTI: ev.JTI,
		Scope: ev.Scope, ClientID: g.client.ID})
	return signed, ev, err
}

// signJWT signs claims with the environment's primary key. Environments are created with
// their keys in one append, so a missing key means this instance has not applied that
// append yet: the request waits, once and bounded, for the keys projection to reach the
// log's head. No request creates keys.
func (h *Handlers) signJWT(ctx context.Context, env, typ string, claims any) (string, error) {
	signer, err := h.Keys.Signer(env)
	if errors.Is(err, domain.ErrNotFound) && h.KeysReady != nil && h.Head != nil {
		wait, cancel := context.WithTimeout(ctx, 3*time.Second)
		if head, err := h.Head.Latest(wait); err == nil {
			h.KeysReady.WaitFor(wait, head) //nolint:errcheck // checked by Signer below
		}
		cancel()
		signer, err = h.Keys.Signer(env)
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
	signed, err := jws.Sign(payload, jws.WithKey(jwa.RS256, signer.Key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}

// eventNow is the clock at the precision events keep (whole microseconds, UTC); JWT times
// are whole seconds of the same instant.
func eventNow(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
