package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// authorizationCode redeems a code (RFC 6749 §4.1.3, RFC 7636 §4.6): single use, bound to
// the client, the redirect URI and the PKCE challenge. A second redemption fails and
// revokes every token issued from the code.
func (h *Handlers) authorizationCode(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, f form) error {
	if !cl.Settings.Allows(client.GrantAuthorizationCode) {
		return oauth.ErrUnauthorizedClient.WithDescription("this client may not use the authorization_code grant")
	}
	code, err := f.require("code")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	codeHash := secret.Hash(code)
	history, err := h.history(ctx, authcode.Stream(t.Slug, codeHash))
	if err != nil {
		return err
	}
	st := authcode.Fold(history)
	invalid := oauth.ErrInvalidGrant.WithDescription("the authorization code is invalid, expired or already used")
	if st.Issued == nil {
		return invalid
	}
	if !st.Redeemed {
		if msg := authcode.Check(st, cl.ID, f["redirect_uri"], f["code_verifier"], cl.Type == client.Public, h.Now()); msg != "" {
			return oauth.ErrInvalidGrant.WithDescription("%s", msg)
		}
	}
	u, ok := h.user(ctx, t.Slug, st.Issued.UserID)
	if !ok {
		return invalid
	}
	scope := oauth.NewScopes(strings.Fields(st.Issued.Scope)...)
	resources := f.resources()
	if len(resources) == 0 {
		resources = st.Issued.Resources
	} else if missing, ok := oauth.NewScopes(resources...).SubsetOf(oauth.NewScopes(st.Issued.Resources...)); len(st.Issued.Resources) > 0 && !ok {
		return oauth.ErrInvalidTarget.WithDescription("resource %q was not in the authorization request", missing)
	}
	aud, accessScope, err := Audience(h.Catalog, t, scope, resources)
	if err != nil {
		return err
	}
	g := issuance{client: cl, subject: u.ID, subjectKind: token.SubjectUser, scope: accessScope, audience: aud}
	access, accessEv, err := h.buildAccess(ctx, t, g)
	if err != nil {
		return err
	}
	cmd := grant.Redeem{Environment: t.Slug, CodeHash: codeHash, Access: accessEv}
	var refresh string
	if cl.Settings.Allows(client.GrantRefreshToken) {
		var ev token.Issued
		g.scope = scope // the refresh token keeps everything granted
		refresh, ev = h.buildRefresh(t, g, refreshPrefix+secret.Token())
		cmd.Refresh = &ev
	}
	res, err := h.Loop.Execute(ctx, cmd, actorOf(c, cl.ID))
	switch {
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrInvalid):
		return invalid
	case errors.Is(err, grant.ErrPartyEnded):
		return errPartyEnded
	case err != nil:
		return err
	case has[authcode.ReplayDetected](res.Events):
		return oauth.ErrInvalidGrant.WithDescription("the authorization code was already used; the tokens issued from it are revoked")
	}
	resp := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(t.Settings.AccessTokenTTL().Seconds()),
		Scope: accessScope.String(), RefreshToken: refresh}
	if scope.Has(oauth.ScopeOpenID) {
		who := idSubject{user: u, authTime: st.Issued.AuthTime, nonce: st.Issued.Nonce, sessionID: st.Issued.SessionID}
		if resp.IDToken, err = h.idToken(ctx, t, cl.ID, scope, who, access); err != nil {
			return err
		}
	}
	if err := h.readYourWrite(ctx, res.Position); err != nil {
		h.log.Warn("tokens issued but not yet projected", "err", err)
	}
	noStore(c)
	return c.JSON(resp)
}

// buildRefresh prepares a refresh token event for value (not recorded).
func (h *Handlers) buildRefresh(t tenants.Tenant, g issuance, value string) (string, token.Issued) {
	now := eventNow(h.Now())
	hash := secret.Hash(value)
	return value, token.Issued{JTI: token.HashJTI(hash), Kind: token.KindRefresh, Format: token.FormatOpaque,
		TokenHash: hash, ClientID: g.client.ID, Subject: g.subject, SubjectKind: g.subjectKind, Scope: g.scope.String(),
		IssuedAt: now, ExpiresAt: now.Add(t.Settings.RefreshTokenTTL())}
}

// history reads a stream from the store and decodes it.
func (h *Handlers) history(ctx context.Context, ref domain.StreamRef) ([]domain.Event, error) {
	envs, err := h.Store.ReadStream(ctx, ref.Stream)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Event, 0, len(envs))
	for _, e := range envs {
		if e.Environment != ref.Environment {
			return nil, nil
		}
		rec, err := h.Registry.DecodeEnvelope(e)
		if err != nil {
			return nil, err
		}
		out = append(out, rec.Event)
	}
	return out, nil
}

// has reports whether events hold an event of type E.
func has[E domain.Event](events []domain.Envelope) bool {
	var zero E
	for _, e := range events {
		if e.Type == zero.EventType() {
			return true
		}
	}
	return false
}
