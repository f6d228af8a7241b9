package oauth

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/tokens"
	"github.com/paylent/paylent/tenants"
)

// errPartyEnded answers a grant whose user was disabled or deleted, or whose client was
// deleted, since the request was read.
var errPartyEnded = oauth.ErrInvalidGrant.WithDescription("the grant is no longer valid")

// refreshToken is RFC 6749 §6 with rotation: every use returns a new refresh token; the
// used one is superseded, and presenting it again revokes the whole grant (except within
// the client's retry window, where the same new token is returned again). The scope may be
// narrowed, never widened.
func (h *Handlers) refreshToken(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, f form) error {
	if !cl.Settings.Allows(client.GrantRefreshToken) {
		return oauth.ErrUnauthorizedClient.WithDescription("this client may not use the refresh_token grant")
	}
	value, err := f.require("refresh_token")
	if err != nil {
		return err
	}
	invalid := oauth.ErrInvalidGrant.WithDescription("the refresh token is invalid, expired or revoked")
	ctx := c.UserContext()
	hash := secret.Hash(value)
	presented, ok := h.Tokens.ByHash(t.Slug, hash)
	if !ok {
		if presented, err = h.readThrough(ctx, t.Slug, token.HashJTI(hash), hash); err != nil {
			if errors.Is(err, errUnknownToken) {
				return invalid
			}
			return err
		}
	}
	if presented.Kind != token.KindRefresh || presented.ClientID != cl.ID || presented.GrantID == "" {
		return invalid
	}
	granted := oauth.NewScopes(strings.Fields(presented.Scope)...)
	scope, err := oauth.ParseScopes(f["scope"])
	if err != nil {
		return err
	}
	if scope == nil {
		scope = granted
	}
	if missing, ok := scope.SubsetOf(granted); !ok {
		return oauth.ErrInvalidScope.WithDescription("scope %q was not granted", missing)
	}
	u, ok := h.user(ctx, t.Slug, presented.Subject)
	if !ok {
		return invalid
	}
	aud, accessScope, err := Audience(h.Catalog, t, scope, f.resources())
	if err != nil {
		return err
	}
	g := issuance{client: cl, subject: u.ID, subjectKind: token.SubjectUser, scope: accessScope, audience: aud}
	access, accessEv, err := h.buildAccess(ctx, t, g)
	if err != nil {
		return err
	}
	g.scope = granted // the new refresh token keeps what was granted
	next, nextEv := h.buildRefresh(t, g, h.rotatedRefresh(t.Slug, value))
	res, err := h.Loop.Execute(ctx, grant.Refresh{Environment: t.Slug, GrantID: presented.GrantID, Presented: presented.JTI,
		Scope: accessScope, Access: accessEv, NewRefresh: nextEv, PresentedExpiresAt: presented.ExpiresAt,
		RetryWindow: time.Duration(cl.Settings.RefreshRetryWindow) * time.Second}, actorOf(c, cl.ID))
	switch {
	case errors.Is(err, grant.ErrRevoked), errors.Is(err, grant.ErrExpired), errors.Is(err, domain.ErrNotFound):
		return invalid
	case errors.Is(err, grant.ErrPartyEnded):
		return errPartyEnded
	case errors.Is(err, domain.ErrInvalid):
		return oauth.ErrInvalidScope.WithDescription("the requested scope was not granted")
	case err != nil:
		return err
	case has[grant.ReuseDetected](res.Events):
		return oauth.ErrInvalidGrant.WithDescription("the refresh token was already used; the grant is revoked")
	}
	resp := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(t.Settings.AccessTokenTTL().Seconds()),
		Scope: accessScope.String(), RefreshToken: next}
	if scope.Has(oauth.ScopeOpenID) {
		if resp.IDToken, err = h.idTokenForGrant(c, t, cl.ID, scope, presented, access); err != nil {
			return err
		}
	}
	if err := h.readYourWrite(ctx, res.Position); err != nil {
		h.log.Warn("tokens issued but not yet projected", "err", err)
	}
	noStore(c)
	return c.JSON(resp)
}

// idTokenForGrant signs the ID token of a refresh (same subject and auth_time, no nonce).
func (h *Handlers) idTokenForGrant(c *fiber.Ctx, t tenants.Tenant, clientID string, scope oauth.Scopes, presented tokens.Token, access string) (string, error) {
	hist, err := h.history(c.UserContext(), grant.Stream(t.Slug, presented.GrantID))
	if err != nil {
		return "", err
	}
	g := grant.Fold(hist)
	u, _ := h.Catalog.User(t.Slug, presented.Subject)
	return h.idToken(c.UserContext(), t, clientID, scope, idSubject{user: u, authTime: g.AuthTime, sessionID: g.SessionID}, access)
}
