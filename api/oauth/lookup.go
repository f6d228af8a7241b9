package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/tokens"
	"github.com/paylent/paylent/tenants"
)

// leeway is the clock skew allowed when checking a JWT's exp and nbf.
const leeway = 30 * time.Second

// found is a token presented to introspection or revocation, as far as Paylent knows it.
type found struct {
	tokens.Token
	Issuer string
	jwt    bool
}

var errUnknownToken = errors.New("unknown token")

// lookup identifies a presented token: a JWT access token by its signature (with this
// environment's keys, issuer and typ) and its jti; an opaque or refresh token by its hash.
// It answers errUnknownToken for anything else, including other environments' tokens.
func (h *Handlers) lookup(ctx context.Context, t tenants.Tenant, value string) (found, error) {
	f, err := h.identify(ctx, t, value)
	if err == nil && !h.parties(t.Slug, f.Token).Honoured() {
		f.Revoked = true // its user was disabled or deleted, or its client deleted
	}
	return f, err
}

// parties reads what the catalog knows of a token's user and client.
func (h *Handlers) parties(env string, tok tokens.Token) access.Parties {
	_, clientOK := h.Catalog.Client(env, tok.ClientID)
	p := access.Parties{ClientExists: clientOK,
		ForUser: tok.SubjectKind == token.SubjectUser || tok.SubjectKind == "" && tok.Subject != tok.ClientID}
	if p.ForUser {
		u, ok := h.Catalog.User(env, tok.Subject)
		p.UserExists, p.UserDisabled = ok, u.Disabled
	}
	return p
}

func (h *Handlers) identify(ctx context.Context, t tenants.Tenant, value string) (found, error) {
	if len(value) > 8192 {
		return found{}, errUnknownToken
	}
	if strings.Count(value, ".") == 2 {
		return h.lookupJWT(ctx, t, value)
	}
	hash := secret.Hash(value)
	if tok, ok := h.Tokens.ByHash(t.Slug, hash); ok {
		return found{Token: tok, Issuer: t.Issuer}, nil
	}
	// Issued by another instance and not yet projected here: read it from the log.
	tok, err := h.readThrough(ctx, t.Slug, token.HashJTI(hash), hash)
	if err != nil {
		return found{}, err
	}
	if tok.Format == token.FormatJWT {
		return found{}, errUnknownToken
	}
	return found{Token: tok, Issuer: t.Issuer}, nil
}

func (h *Handlers) lookupJWT(ctx context.Context, t tenants.Tenant, value string) (found, error) {
	now := h.Now()
	msg, err := jws.Parse([]byte(value))
	if err != nil || len(msg.Signatures()) != 1 || msg.Signatures()[0].ProtectedHeaders().Type() != "at+jwt" {
		return found{}, errUnknownToken
	}
	parsed, err := jwt.Parse([]byte(value), jwt.WithKeySet(h.Keys.VerificationKeys(t.Slug, now), jws.WithRequireKid(true)),
		jwt.WithValidate(true), jwt.WithIssuer(t.Issuer), jwt.WithClock(jwt.ClockFunc(h.Now)),
		jwt.WithAcceptableSkew(leeway), jwt.WithRequiredClaim("jti"), jwt.WithRequiredClaim("exp"))
	if err != nil {
		return found{}, errUnknownToken
	}
	clientID, _ := parsed.PrivateClaims()["client_id"].(string)
	scope, _ := parsed.PrivateClaims()["scope"].(string)
	f := found{Issuer: t.Issuer, jwt: true, Token: tokens.Token{JTI: parsed.JwtID(), Kind: token.KindAccess,
		Format: token.FormatJWT, ClientID: clientID, Subject: parsed.Subject(), Scope: scope,
		Audience: parsed.Audience(), IssuedAt: parsed.IssuedAt(), ExpiresAt: parsed.Expiration()}}
	if kept, ok := h.Tokens.ByJTI(t.Slug, f.JTI); ok {
		f.Revoked, f.GrantID, f.SubjectKind = kept.Revoked, kept.GrantID, kept.SubjectKind
	}
	f.Revoked = f.Revoked || h.Tokens.IsRevoked(t.Slug, f.JTI)
	return f, nil
}

// readThrough folds a token's stream from the event store; hash must match when given.
func (h *Handlers) readThrough(ctx context.Context, env, jti, hash string) (tokens.Token, error) {
	history, err := h.history(ctx, token.Stream(env, jti))
	if err != nil {
		return tokens.Token{}, err
	}
	st := token.Fold(history)
	if st.Issued == nil || (hash != "" && st.Issued.TokenHash != hash) {
		return tokens.Token{}, errUnknownToken
	}
	i := st.Issued
	return tokens.Token{JTI: i.JTI, Kind: i.Kind, Format: i.Format, ClientID: i.ClientID, Subject: i.Subject,
		SubjectKind: i.SubjectKind, Scope: i.Scope, Audience: i.Audience, IssuedAt: i.IssuedAt,
		ExpiresAt: i.ExpiresAt, GrantID: i.GrantID, Revoked: st.Revoked}, nil
}

// ErrInvalidAccessToken: a bearer token that is not an active access token of the environment.
var ErrInvalidAccessToken = errors.New("invalid access token")

// VerifyAccessToken checks a bearer token presented to one of Paylent's own APIs (UserInfo,
// the Management API): an active access token of this environment, current as of the
// request (a revocation made anywhere before it counts).
func (h *Handlers) VerifyAccessToken(ctx context.Context, t tenants.Tenant, value string) (tokens.Token, error) {
	h.fresh(ctx)
	tok, err := h.lookup(ctx, t, value)
	switch {
	case errors.Is(err, errUnknownToken):
		return tokens.Token{}, ErrInvalidAccessToken
	case err != nil:
		return tokens.Token{}, err
	case tok.Kind != token.KindAccess || !tok.Active(h.Now()):
		return tokens.Token{}, ErrInvalidAccessToken
	}
	return tok.Token, nil
}
