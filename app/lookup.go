package app

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

// FoundToken is a token presented to introspection, revocation or UserInfo, as far as
// Paylent knows it.
type FoundToken struct {
	tokens.Token
	Issuer string
}

// ErrUnknownToken: the value is no token of the environment (malformed, forged, another
// environment's, or never issued).
var ErrUnknownToken = errors.New("unknown token")

// LookupToken identifies a presented token: a JWT access token by its signature (with this
// environment's keys, issuer and typ) and its jti; an opaque or refresh token by its hash.
// A token whose user was disabled or deleted, or whose client was deleted, reads as
// revoked. Anything else is ErrUnknownToken, including other environments' tokens.
func (a *App) LookupToken(ctx context.Context, t tenants.Tenant, value string) (FoundToken, error) {
	f, err := a.identify(ctx, t, value)
	if err == nil && !a.parties(t.Slug, f.Token).Honoured() {
		f.Revoked = true
	}
	return f, err
}

// TokensCurrent waits, bounded, until the tokens and catalog read models have applied
// everything committed before the request arrived, so that a revocation (or a user's end)
// made on any instance is seen. When they cannot reach that head in time it fails closed
// (ErrStale: the face answers 503, never a token that may have been revoked). When the head
// itself cannot be read (the event store is down, so nothing new can be committed either)
// it answers from what the models have, and says so in the log.
func (a *App) TokensCurrent(ctx context.Context) error {
	err := a.Current(ctx, a.rm.TokensReady, a.rm.CatalogReady)
	if errors.Is(err, ErrNoHead) {
		a.log.Warn("cannot read the event log's head; answering tokens from what the read models have", "err", err)
		return nil
	}
	return err
}

// parties reads what the catalog knows of a token's user and client.
func (a *App) parties(env string, tok tokens.Token) access.Parties {
	_, clientOK := a.rm.Catalog.Client(env, tok.ClientID)
	p := access.Parties{ClientExists: clientOK,
		ForUser: tok.SubjectKind == token.SubjectUser || tok.SubjectKind == "" && tok.Subject != tok.ClientID}
	if p.ForUser {
		p.User = a.userStanding(env, tok.Subject)
		if tok.AuthTime != nil {
			p.AuthTime = *tok.AuthTime
		}
	}
	return p
}

// userStanding reads what the catalog knows of a user, for the rules of access.User.
func (a *App) userStanding(env, userID string) access.User {
	u, ok := a.rm.Catalog.User(env, userID)
	return access.User{Exists: ok, Disabled: u.Disabled, PasswordChangedAt: u.PasswordChangedAt, SignInsEndedAt: u.SignInsEndedAt}
}

func (a *App) identify(ctx context.Context, t tenants.Tenant, value string) (FoundToken, error) {
	if len(value) > 8192 {
		return FoundToken{}, ErrUnknownToken
	}
	if strings.Count(value, ".") == 2 {
		return a.lookupJWT(ctx, t, value)
	}
	hash := secret.Hash(value)
	if tok, ok := a.rm.Tokens.ByHash(t.Slug, hash); ok {
		return FoundToken{Token: tok, Issuer: t.Issuer}, nil
	}
	// Issued by another instance and not yet projected here: read it from the log.
	tok, err := a.readThrough(ctx, t.Slug, token.HashJTI(hash), hash)
	if err != nil {
		return FoundToken{}, err
	}
	if tok.Format == token.FormatJWT {
		return FoundToken{}, ErrUnknownToken
	}
	return FoundToken{Token: tok, Issuer: t.Issuer}, nil
}

func (a *App) lookupJWT(ctx context.Context, t tenants.Tenant, value string) (FoundToken, error) {
	now := a.now()
	msg, err := jws.Parse([]byte(value))
	if err != nil || len(msg.Signatures()) != 1 || msg.Signatures()[0].ProtectedHeaders().Type() != "at+jwt" {
		return FoundToken{}, ErrUnknownToken
	}
	parsed, err := jwt.Parse([]byte(value), jwt.WithKeySet(a.rm.Keys.VerificationKeys(t.Slug, now), jws.WithRequireKid(true)),
		jwt.WithValidate(true), jwt.WithIssuer(t.Issuer), jwt.WithClock(jwt.ClockFunc(a.now)),
		jwt.WithAcceptableSkew(leeway), jwt.WithRequiredClaim("jti"), jwt.WithRequiredClaim("exp"))
	if err != nil {
		return FoundToken{}, ErrUnknownToken
	}
	clientID, _ := parsed.PrivateClaims()["client_id"].(string)
	scope, _ := parsed.PrivateClaims()["scope"].(string)
	f := FoundToken{Issuer: t.Issuer, Token: tokens.Token{JTI: parsed.JwtID(), Kind: token.KindAccess,
		Format: token.FormatJWT, ClientID: clientID, Subject: parsed.Subject(), Scope: scope,
		Audience: parsed.Audience(), IssuedAt: parsed.IssuedAt(), ExpiresAt: parsed.Expiration()}}
	claimed, forUser := parsed.PrivateClaims()["auth_time"].(float64) // only a user's token has one
	if kept, ok := a.rm.Tokens.ByJTI(t.Slug, f.JTI); ok {
		f.Revoked, f.GrantID, f.SubjectKind = kept.Revoked, kept.GrantID, kept.SubjectKind
		f.AuthTime, f.ACR, f.AMR = kept.AuthTime, kept.ACR, kept.AMR
	} else if forUser && claimed > 0 {
		// A user's token not projected here yet. Its issuance in the log says when the user
		// signed in, to the microsecond as the session's auth_time it was copied from (the
		// claim has whole seconds, which cannot tell a sign-in just after an end of sign-ins
		// from one just before), so that LookupToken judges it (access.User.Stands) as it
		// does a kept one. Client-credentials JWTs are never kept and carry no auth_time:
		// they cost no read of the log.
		if logged, err := a.readThrough(ctx, t.Slug, f.JTI, ""); err == nil && logged.Format == token.FormatJWT &&
			logged.Subject == f.Subject && logged.ClientID == f.ClientID {
			f.Revoked, f.GrantID, f.SubjectKind = logged.Revoked, logged.GrantID, logged.SubjectKind
			f.AuthTime, f.ACR, f.AMR = logged.AuthTime, logged.ACR, logged.AMR
		} else {
			// Not in the log either (or the log cannot be read): the signed claim.
			authTime := time.Unix(int64(claimed), 0).UTC()
			f.AuthTime = &authTime
		}
	}
	f.Revoked = f.Revoked || a.rm.Tokens.IsRevoked(t.Slug, f.JTI)
	return f, nil
}

// readThrough folds a token's stream from the event store; hash must match when given.
func (a *App) readThrough(ctx context.Context, env, jti, hash string) (tokens.Token, error) {
	history, err := a.history(ctx, token.Stream(env, jti))
	if err != nil {
		return tokens.Token{}, err
	}
	st := token.Fold(history)
	if st.Issued == nil || (hash != "" && st.Issued.TokenHash != hash) {
		return tokens.Token{}, ErrUnknownToken
	}
	i := st.Issued
	return tokens.Token{JTI: i.JTI, Kind: i.Kind, Format: i.Format, ClientID: i.ClientID, Subject: i.Subject,
		SubjectKind: i.SubjectKind, Scope: i.Scope, Audience: i.Audience, IssuedAt: i.IssuedAt,
		ExpiresAt: i.ExpiresAt, GrantID: i.GrantID, Revoked: st.Revoked, AuthTime: i.AuthTime, ACR: i.ACR, AMR: i.AMR}, nil
}
