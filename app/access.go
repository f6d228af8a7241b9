package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/sessions"
)

// Ended is what an operation that ends access did.
type Ended struct {
	// JTI is the revoked token's (RevokeToken).
	JTI string
	// Position is the last appended event's: read your write after it.
	Position int64
	// Sessions, Grants and Tokens count what was revoked.
	Sessions, Grants, Tokens int
}

func (e *Ended) add(res eventstore.Result) {
	e.Position = max(e.Position, res.Position)
	for _, env := range res.Events {
		switch env.Type {
		case "session.revoked":
			e.Sessions++
		case "grant.revoked":
			e.Grants++
		case "token.revoked":
			e.Tokens++
		}
	}
}

// UserRef names a user of an environment.
type UserRef struct {
	Environment string
	UserID      string
}

// DisableUser disables a user and, in the same append, revokes every session and grant
// they hold (with every token of those grants). No token is issued for them afterwards:
// the grant decisions guard the user's stream.
func (a *App) DisableUser(ctx context.Context, req UserRef, actor domain.Actor) (Ended, error) {
	return a.endUser(ctx, req, false, actor)
}

// DeleteUser deletes a user, releases their address and revokes what they hold, as
// DisableUser does.
func (a *App) DeleteUser(ctx context.Context, req UserRef, actor domain.Actor) (Ended, error) {
	return a.endUser(ctx, req, true, actor)
}

func (a *App) endUser(ctx context.Context, req UserRef, del bool, actor domain.Actor) (Ended, error) {
	if err := a.Current(ctx, a.rm.CatalogReady, a.rm.TokensReady, a.rm.SessionsReady); err != nil {
		a.log.Warn("ending a user's access with read models behind the log; the sweep completes it", "err", err)
	}
	u, ok := a.rm.Catalog.User(req.Environment, req.UserID)
	if !ok {
		return Ended{}, domain.ErrNotFound
	}
	now := a.now()
	sess := sessions.ActiveIDs(a.rm.Sessions.OfUser(req.Environment, req.UserID), now)
	grants, _ := a.rm.Tokens.Held(req.Environment, req.UserID, "", now)
	res, err := a.loop.Execute(ctx, access.EndUser{Environment: req.Environment, UserID: req.UserID, Delete: del,
		Email: u.Email, SessionIDs: sess, GrantIDs: grants}, actor)
	if err != nil {
		return Ended{}, err
	}
	var out Ended
	out.add(res)
	reason := access.ReasonUserDisabled
	if del {
		reason = access.ReasonUserDeleted
	}
	return a.sweep(ctx, out, access.RevokeGrants{Environment: req.Environment, UserID: req.UserID, Reason: reason}, grants, actor)
}

// sweep revokes grants that were created while an end was being decided: once the end is
// committed no new grant can be made (the decisions guard the party), so after the read
// models reach the end's position, what they show and the end did not name is all there is.
func (a *App) sweep(ctx context.Context, out Ended, cmd access.RevokeGrants, named []string, actor domain.Actor) (Ended, error) {
	if err := a.Current(ctx, a.rm.TokensReady); err != nil {
		return out, fmt.Errorf("access ended at position %d, but its sweep could not read the tokens: %w", out.Position, err)
	}
	held, _ := a.rm.Tokens.Held(cmd.Environment, cmd.UserID, cmd.ClientID, a.now())
	for _, g := range held {
		if !slices.Contains(named, g) {
			cmd.GrantIDs = append(cmd.GrantIDs, g)
		}
	}
	if len(cmd.GrantIDs) == 0 {
		return out, nil
	}
	res, err := a.loop.Execute(ctx, cmd, actor)
	if err != nil {
		return out, fmt.Errorf("access ended at position %d, but its sweep failed: %w", out.Position, err)
	}
	out.add(res)
	return out, nil
}

// EnableUser lets a disabled user sign in again. Nothing revoked comes back.
func (a *App) EnableUser(ctx context.Context, req UserRef, actor domain.Actor) (Ended, error) {
	enable := false
	res, err := a.loop.Execute(ctx, userChange(req, nil, &enable), actor)
	if err != nil {
		return Ended{}, err
	}
	return Ended{Position: res.Position}, nil
}

// ClientRef names a client of an environment.
type ClientRef struct {
	Environment string
	ClientID    string
	// By is the caller's authority: deleting a client needs every management scope it has.
	By client.Grantor
}

// DeleteClient deletes a client and, in the same append, revokes every grant issued to it
// and every token of it that is kept by jti. Its JWT access tokens are refused from then on
// by every face (their client no longer exists), and resource servers that follow events
// refuse tokens of a deleted client (client.deleted).
func (a *App) DeleteClient(ctx context.Context, req ClientRef, actor domain.Actor) (Ended, error) {
	if err := a.Current(ctx, a.rm.TokensReady); err != nil {
		a.log.Warn("deleting a client with read models behind the log; the sweep completes it", "err", err)
	}
	grants, standalone := a.rm.Tokens.Held(req.Environment, "", req.ClientID, a.now())
	res, err := a.loop.Execute(ctx, access.EndClient{Environment: req.Environment, ClientID: req.ClientID,
		GrantIDs: grants, TokenJTIs: standalone, Grantor: req.By}, actor)
	if err != nil {
		return Ended{}, err
	}
	var out Ended
	out.add(res)
	return a.sweep(ctx, out, access.RevokeGrants{Environment: req.Environment, ClientID: req.ClientID,
		Reason: access.ReasonClientDeleted}, grants, actor)
}

// ConsentRef names a user's consent to a client.
type ConsentRef struct {
	Environment string
	UserID      string
	ClientID    string
}

// RevokeConsent forgets a user's consent to a client and revokes, in the same append, the
// user's grants with that client (and their tokens). The next authorization asks again.
func (a *App) RevokeConsent(ctx context.Context, req ConsentRef, actor domain.Actor) (Ended, error) {
	if err := a.Current(ctx, a.rm.TokensReady); err != nil {
		a.log.Warn("revoking a consent with read models behind the log", "err", err)
	}
	grants, _ := a.rm.Tokens.Held(req.Environment, req.UserID, req.ClientID, a.now())
	res, err := a.loop.Execute(ctx, access.RevokeConsent{Environment: req.Environment, UserID: req.UserID,
		ClientID: req.ClientID, GrantIDs: grants}, actor)
	if err != nil {
		return Ended{}, err
	}
	var out Ended
	out.add(res)
	return out, nil
}

// RevokeToken asks to revoke one token of an environment: by its value (a JWT, an opaque
// access token or a refresh token) or by its jti.
type RevokeToken struct {
	Environment string
	Token       string
	JTI         string
	Reason      string
}

// RevokeToken revokes a token; a refresh token ends its whole grant (RFC 7009 §2.1). A
// token already revoked appends nothing; an unknown one (or another environment's) is
// domain.ErrNotFound.
func (a *App) RevokeToken(ctx context.Context, req RevokeToken, actor domain.Actor) (Ended, error) {
	jti, err := JTIOf(req.Token, req.JTI)
	if err != nil {
		return Ended{}, err
	}
	if req.Reason == "" {
		req.Reason = grant.ReasonOperator
	}
	hist, err := a.loop.Read(ctx, token.Stream(req.Environment, jti))
	if err != nil {
		return Ended{}, err
	}
	st := token.Fold(hist)
	if st.Issued == nil {
		return Ended{}, domain.ErrNotFound
	}
	var cmd domain.Command = token.Revoke{Environment: req.Environment, JTI: jti, Reason: req.Reason}
	if st.Issued.Kind == token.KindRefresh && st.Issued.GrantID != "" {
		cmd = grant.Revoke{Environment: req.Environment, GrantID: st.Issued.GrantID, Reason: req.Reason}
	}
	res, err := a.loop.Execute(ctx, cmd, actor)
	if err != nil {
		return Ended{}, err
	}
	out := Ended{JTI: jti}
	out.add(res)
	return out, nil
}

// JTIOf finds the jti a revocation names: given, read from a JWT's claims (whether the
// environment has such a token is for the event store to say), or derived from an opaque
// or refresh token's hash. The token value is never echoed in an error.
func JTIOf(value, jti string) (string, error) {
	switch {
	case (value == "") == (jti == ""):
		return "", domain.Invalid("token", "give exactly one of a token and a jti")
	case jti != "":
		if len(jti) > 64 {
			return "", domain.Invalid("jti", "must be at most 64 characters")
		}
		return jti, nil
	case len(value) > 8192:
		return "", domain.Invalid("token", "is too long")
	case strings.Count(value, ".") == 2:
		parsed, err := jwt.ParseInsecure([]byte(value))
		if err != nil || parsed.JwtID() == "" {
			return "", domain.Invalid("token", "is not a token of this environment")
		}
		return parsed.JwtID(), nil
	}
	return token.HashJTI(secret.Hash(value)), nil
}
