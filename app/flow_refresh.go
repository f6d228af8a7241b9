package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/tokens"
	"github.com/paylent/paylent/tenants"
)

// RefreshRequest uses a refresh token (grant_type=refresh_token).
type RefreshRequest struct {
	TokenRequest
	RefreshToken string
}

// Refresh is RFC 6749 §6 with rotation: every use returns a new refresh token; the used one
// is superseded, and presenting it again revokes the whole grant (except within the client's
// retry window, where the same new token is returned again). The scope may be narrowed,
// never widened.
func (a *App) Refresh(ctx context.Context, req RefreshRequest) (TokenResponse, *oauth.Error) {
	t, cl := req.Tenant, req.Client
	if !cl.Settings.Allows(client.GrantRefreshToken) {
		return TokenResponse{}, oauth.ErrUnauthorizedClient.WithDescription("this client may not use the refresh_token grant")
	}
	if req.RefreshToken == "" {
		return TokenResponse{}, missing("refresh_token")
	}
	invalid := oauth.ErrInvalidGrant.WithDescription("the refresh token is invalid, expired or revoked")
	hash := secret.Hash(req.RefreshToken)
	presented, ok := a.rm.Tokens.ByHash(t.Slug, hash)
	if !ok {
		var err error
		if presented, err = a.readThrough(ctx, t.Slug, token.HashJTI(hash), hash); err != nil {
			if errors.Is(err, ErrUnknownToken) {
				return TokenResponse{}, invalid
			}
			return TokenResponse{}, oauthError(err)
		}
	}
	if presented.Kind != token.KindRefresh || presented.ClientID != cl.ID || presented.GrantID == "" {
		return TokenResponse{}, invalid
	}
	granted := oauth.NewScopes(strings.Fields(presented.Scope)...)
	scope, err := oauth.ParseScopes(req.Scope)
	if err != nil {
		return TokenResponse{}, oauthError(err)
	}
	if scope == nil {
		scope = granted
	}
	if missing, ok := scope.SubsetOf(granted); !ok {
		return TokenResponse{}, oauth.ErrInvalidScope.WithDescription("scope %q was not granted", missing)
	}
	u, ok := a.user(ctx, t.Slug, presented.Subject)
	if !ok {
		return TokenResponse{}, invalid
	}
	aud, accessScope, oe := a.audience(t, scope, req.Resources)
	if oe != nil {
		return TokenResponse{}, oe
	}
	g := issuance{client: cl, subject: u.ID, subjectKind: token.SubjectUser, scope: accessScope, audience: aud}
	if presented.AuthTime != nil {
		g.auth = authOf(*presented.AuthTime, presented.AMR, presented.ACR)
	}
	access, accessEv, err := a.buildAccess(ctx, t, g)
	if err != nil {
		return TokenResponse{}, oauthError(err)
	}
	g.scope = granted // the new refresh token keeps what was granted
	next, nextEv := a.buildRefresh(t, g, a.rotatedRefresh(t.Slug, req.RefreshToken))
	res, err := a.loop.Execute(ctx, grant.Refresh{Environment: t.Slug, GrantID: presented.GrantID, Presented: presented.JTI,
		Scope: accessScope, Access: accessEv, NewRefresh: nextEv, PresentedExpiresAt: presented.ExpiresAt,
		RetryWindow: time.Duration(cl.Settings.RefreshRetryWindow) * time.Second}, req.Actor)
	switch {
	case errors.Is(err, grant.ErrRevoked), errors.Is(err, grant.ErrExpired), errors.Is(err, domain.ErrNotFound):
		return TokenResponse{}, invalid
	case errors.Is(err, grant.ErrPartyEnded):
		return TokenResponse{}, errPartyEnded
	case errors.Is(err, domain.ErrInvalid):
		return TokenResponse{}, oauth.ErrInvalidScope.WithDescription("the requested scope was not granted")
	case err != nil:
		return TokenResponse{}, oauthError(err)
	case appended[grant.ReuseDetected](res):
		return TokenResponse{}, oauth.ErrInvalidGrant.WithDescription("the refresh token was already used; the grant is revoked")
	}
	resp := TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(t.Settings.AccessTokenTTL().Seconds()),
		Scope: accessScope.String(), RefreshToken: next}
	if scope.Has(oauth.ScopeOpenID) {
		if resp.IDToken, err = a.idTokenForGrant(ctx, t, cl.ID, scope, presented, access); err != nil {
			return TokenResponse{}, oauthError(err)
		}
	}
	a.tokensWritten(ctx, res.Position)
	a.issued(client.GrantRefreshToken, accessEv)
	return resp, nil
}

// idTokenForGrant signs the ID token of a refresh (same subject and auth_time, no nonce).
func (a *App) idTokenForGrant(ctx context.Context, t tenants.Tenant, clientID string, scope oauth.Scopes, presented tokens.Token, access string) (string, error) {
	hist, err := a.history(ctx, grant.Stream(t.Slug, presented.GrantID))
	if err != nil {
		return "", err
	}
	g := grant.Fold(hist)
	u, _ := a.rm.Catalog.User(t.Slug, presented.Subject)
	return a.idToken(ctx, t, clientID, scope, idSubject{user: u, authTime: g.AuthTime, sessionID: g.SessionID,
		amr: g.AMR, acr: g.ACR}, access)
}
