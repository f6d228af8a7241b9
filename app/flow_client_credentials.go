package app

import (
	"context"
	"fmt"
	"time"

	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
)

// ClientCredentials is RFC 6749 §4.4: the client acts on its own behalf. No refresh token.
func (a *App) ClientCredentials(ctx context.Context, req TokenRequest) (TokenResponse, *oauth.Error) {
	t, cl := req.Tenant, req.Client
	if _, ok := a.rm.Catalog.Client(t.Slug, cl.ID); !ok { // deleted since the face authenticated it
		return TokenResponse{}, oauth.ErrInvalidClient.WithDescription("client authentication failed")
	}
	if cl.Type != client.Confidential || !cl.Settings.Allows(client.GrantClientCredentials) {
		return TokenResponse{}, oauth.ErrUnauthorizedClient.WithDescription("this client may not use the client_credentials grant")
	}
	allowed := oauth.NewScopes(cl.Settings.Scopes...).Without(oauth.ScopeOpenID, oauth.ScopeOfflineAccess)
	requested, err := oauth.ParseScopes(req.Scope)
	if err != nil {
		return TokenResponse{}, oauthError(err)
	}
	if requested == nil {
		requested = allowed
	}
	if oe := a.checkScopes(t, requested, allowed); oe != nil {
		return TokenResponse{}, oe
	}
	if requested.Has(oauth.ScopeOpenID) || requested.Has(oauth.ScopeOfflineAccess) {
		return TokenResponse{}, oauth.ErrInvalidScope.WithDescription("openid and offline_access need a user; client credentials have none")
	}
	aud, requested, oe := a.audience(t, requested, req.Resources)
	if oe != nil {
		return TokenResponse{}, oe
	}
	value, ev, err := a.buildAccess(ctx, t, issuance{client: cl, subject: cl.ID, subjectKind: token.SubjectClient,
		scope: requested, audience: aud})
	if err != nil {
		return TokenResponse{}, oauthError(err)
	}
	if _, err := a.loop.Execute(ctx, token.Issue{Environment: t.Slug, Token: ev}, req.Actor); err != nil {
		return TokenResponse{}, oauthError(fmt.Errorf("record token: %w", err))
	}
	// No wait for the read model here: introspection reads the head of the log after the
	// request arrives and waits for it (or reads an unknown token through from the log), so
	// a just-issued opaque token introspects as active on any instance.
	a.issued(client.GrantClientCredentials, ev)
	return TokenResponse{AccessToken: value, TokenType: "Bearer", ExpiresIn: int64(t.Settings.AccessTokenTTL() / time.Second),
		Scope: requested.String()}, nil
}
