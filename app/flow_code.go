package app

import (
	"context"
	"errors"
	"strings"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
)

// CodeRequest redeems an authorization code (grant_type=authorization_code).
type CodeRequest struct {
	TokenRequest
	Code         string
	RedirectURI  string
	CodeVerifier string
}

// AuthorizationCode redeems a code (RFC 6749 §4.1.3, RFC 7636 §4.6): single use, bound to
// the client, the redirect URI and the PKCE challenge. A second redemption fails and
// revokes every token issued from the code.
func (a *App) AuthorizationCode(ctx context.Context, req CodeRequest) (TokenResponse, *oauth.Error) {
	t, cl := req.Tenant, req.Client
	if !cl.Settings.Allows(client.GrantAuthorizationCode) {
		return TokenResponse{}, oauth.ErrUnauthorizedClient.WithDescription("this client may not use the authorization_code grant")
	}
	if req.Code == "" {
		return TokenResponse{}, missing("code")
	}
	codeHash := secret.Hash(req.Code)
	history, err := a.history(ctx, authcode.Stream(t.Slug, codeHash))
	if err != nil {
		return TokenResponse{}, oauthError(err)
	}
	st := authcode.Fold(history)
	invalid := oauth.ErrInvalidGrant.WithDescription("the authorization code is invalid, expired or already used")
	if st.Issued == nil {
		return TokenResponse{}, invalid
	}
	if !st.Redeemed {
		if msg := authcode.Check(st, cl.ID, req.RedirectURI, req.CodeVerifier, cl.Type == client.Public, a.now()); msg != "" {
			return TokenResponse{}, oauth.ErrInvalidGrant.WithDescription("%s", msg)
		}
	}
	u, ok := a.user(ctx, t.Slug, st.Issued.UserID)
	if !ok {
		return TokenResponse{}, invalid
	}
	scope := oauth.NewScopes(strings.Fields(st.Issued.Scope)...)
	resources := req.Resources
	if len(resources) == 0 {
		resources = st.Issued.Resources
	} else if missing, ok := oauth.NewScopes(resources...).SubsetOf(oauth.NewScopes(st.Issued.Resources...)); len(st.Issued.Resources) > 0 && !ok {
		return TokenResponse{}, oauth.ErrInvalidTarget.WithDescription("resource %q was not in the authorization request", missing)
	}
	aud, accessScope, oe := a.audience(t, scope, resources)
	if oe != nil {
		return TokenResponse{}, oe
	}
	g := issuance{client: cl, subject: u.ID, subjectKind: token.SubjectUser, scope: accessScope, audience: aud,
		auth: authOf(st.Issued.AuthTime, st.Issued.AMR, st.Issued.ACR)}
	access, accessEv, err := a.buildAccess(ctx, t, g)
	if err != nil {
		return TokenResponse{}, oauthError(err)
	}
	cmd := grant.Redeem{Environment: t.Slug, CodeHash: codeHash, Access: accessEv}
	var refresh string
	if cl.Settings.Allows(client.GrantRefreshToken) {
		var ev token.Issued
		g.scope = scope // the refresh token keeps everything granted
		refresh, ev = a.buildRefresh(t, g, refreshPrefix+secret.Token())
		cmd.Refresh = &ev
	}
	res, err := a.loop.Execute(ctx, cmd, req.Actor)
	switch {
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrInvalid):
		return TokenResponse{}, invalid
	case errors.Is(err, grant.ErrPartyEnded):
		return TokenResponse{}, errPartyEnded
	case err != nil:
		return TokenResponse{}, oauthError(err)
	case appended[authcode.ReplayDetected](res):
		return TokenResponse{}, oauth.ErrInvalidGrant.WithDescription("the authorization code was already used; the tokens issued from it are revoked")
	}
	resp := TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(t.Settings.AccessTokenTTL().Seconds()),
		Scope: accessScope.String(), RefreshToken: refresh}
	if scope.Has(oauth.ScopeOpenID) {
		who := idSubject{user: u, authTime: st.Issued.AuthTime, nonce: st.Issued.Nonce, sessionID: st.Issued.SessionID,
			amr: st.Issued.AMR, acr: st.Issued.ACR}
		if resp.IDToken, err = a.idToken(ctx, t, cl.ID, scope, who, access); err != nil {
			return TokenResponse{}, oauthError(err)
		}
	}
	a.tokensWritten(ctx, res.Position)
	a.issued(client.GrantAuthorizationCode, accessEv)
	return resp, nil
}

// appended reports whether an append held an event of type E: how a flow reads the
// outcome a decision recorded rather than refused (a replay, a reuse).
func appended[E domain.Event](res eventstore.Result) bool {
	var zero E
	for _, e := range res.Events {
		if e.Type == zero.EventType() {
			return true
		}
	}
	return false
}
