package app

import (
	"context"
	"errors"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
)

// ClientRevokeRequest is a client's revocation request (RFC 7009).
type ClientRevokeRequest struct {
	TokenRequest
	Token string
}

// RevokeByClient is RFC 7009: a client revokes one of its tokens; a refresh token ends its
// whole grant and every token issued under it. Unknown, expired and foreign-environment
// tokens are no error (§2.2: the client cannot do anything about them); a token issued to
// another client is unauthorized_client. After it returns, the tokens read model shows the
// revocation, and resource servers learn it from token.revoked / grant.revoked.
func (a *App) RevokeByClient(ctx context.Context, req ClientRevokeRequest) *oauth.Error {
	if req.Token == "" {
		return missing("token")
	}
	t, cl := req.Tenant, req.Client
	tok, err := a.LookupToken(ctx, t, req.Token)
	switch {
	case errors.Is(err, ErrUnknownToken):
		return nil
	case err != nil:
		return oauthError(err)
	case tok.ClientID != cl.ID:
		return oauth.ErrUnauthorizedClient.WithDescription("the token was not issued to this client")
	case !tok.Active(a.now()):
		return nil
	}
	var cmd domain.Command = token.Revoke{Environment: t.Slug, JTI: tok.JTI, Reason: "revoked_by_client"}
	if tok.Kind == token.KindRefresh && tok.GrantID != "" {
		cmd = grant.Revoke{Environment: t.Slug, GrantID: tok.GrantID, Reason: grant.ReasonClient}
	}
	res, err := a.loop.Execute(ctx, cmd, req.Actor)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return oauthError(err)
	}
	a.tokensWritten(ctx, res.Position)
	return nil
}
