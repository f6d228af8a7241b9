package app

import (
	"context"
	"errors"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// The OAuth flows, one per grant as fosite splits them (flow_code.go, flow_refresh.go,
// flow_client_credentials.go, flow_revoke.go): each takes a parsed request with the client
// the face authenticated, and returns a typed response or an *oauth.Error. Outcomes are
// return values: which events an append held is the flow's business, not the face's.

// TokenRequest is what every token request carries: the environment, the client the face
// authenticated (as the catalog knows it), and who is asking (for the events' actor).
type TokenRequest struct {
	Tenant tenants.Tenant
	Client catalog.Client
	Actor  domain.Actor
	// Scope is the scope parameter as sent ("" when absent).
	Scope string
	// Resources are the resource parameters (RFC 8707), each already checked to be an
	// absolute URI.
	Resources []string
}

// TokenResponse is RFC 6749 §5.1's successful response, before rendering.
type TokenResponse struct {
	AccessToken  string
	TokenType    string
	ExpiresIn    int64
	Scope        string
	RefreshToken string
	IDToken      string
}

// errPartyEnded answers a grant whose user was disabled or deleted, or whose client was
// deleted, since the request was read.
var errPartyEnded = oauth.ErrInvalidGrant.WithDescription("the grant is no longer valid")

// missing is invalid_request for a parameter that must be present and non-empty.
func missing(name string) *oauth.Error {
	return oauth.ErrInvalidRequest.WithDescription("missing parameter %q", name)
}

// oauthError makes any error an *oauth.Error: OAuth errors as they are, an unreachable
// store temporarily_unavailable, anything else server_error; the cause is kept for the logs.
func oauthError(err error) *oauth.Error {
	var oe *oauth.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, eventstore.ErrUnavailable):
		return oauth.ErrTemporarilyUnavailable.WithCause(err)
	}
	return oauth.ErrServerError.WithCause(err)
}

// history reads a stream of the environment; another environment's stream reads as empty.
func (a *App) history(ctx context.Context, ref domain.StreamRef) ([]domain.Event, error) {
	hist, err := a.loop.Read(ctx, ref)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	return hist, err
}

// tokensWritten waits, after a flow's own append, until the tokens read model has applied
// it: a just-issued token introspects as active, a just-revoked one as inactive. A lagging
// read model is logged; the answer stands (introspection reads through to the log).
func (a *App) tokensWritten(ctx context.Context, pos int64) {
	if err := a.AfterWrite(ctx, pos, a.rm.TokensReady); err != nil {
		a.log.Warn("tokens written but not yet projected", "err", err)
	}
}

// CatalogCurrent waits until the catalog has applied the log's head as read now, so that a
// client registered, a secret rotated or a user created through another instance a moment
// ago is seen; it reports whether it did. Failed authentications pay it all alike, so its
// cost says nothing about why one failed.
func (a *App) CatalogCurrent(ctx context.Context) bool {
	if a.rm.Head == nil || a.rm.CatalogReady == nil {
		return false
	}
	return a.Current(ctx, a.rm.CatalogReady) == nil
}

// user finds a user in the catalog; one just created on another instance may not be
// projected here yet, so a miss waits (bounded) for the log's head once.
func (a *App) user(ctx context.Context, env, id string) (catalog.User, bool) {
	if u, ok := a.rm.Catalog.User(env, id); ok || !a.CatalogCurrent(ctx) {
		return u, ok
	}
	return a.rm.Catalog.User(env, id)
}

// Client finds a client for a face (authorize, logout): one just registered on another
// instance may not be projected here yet, so a miss waits (bounded) for the log's head once.
func (a *App) Client(ctx context.Context, env, id string) (catalog.Client, bool) {
	if id == "" {
		return catalog.Client{}, false
	}
	if cl, ok := a.rm.Catalog.Client(env, id); ok || !a.CatalogCurrent(ctx) {
		return cl, ok
	}
	return a.rm.Catalog.Client(env, id)
}

// User finds a user for a face (UserInfo), as user does.
func (a *App) User(ctx context.Context, env, id string) (catalog.User, bool) {
	return a.user(ctx, env, id)
}

// audience applies the domain's audience rules (oauth.Audience) to an environment as the
// catalog knows it.
func (a *App) audience(t tenants.Tenant, scope oauth.Scopes, resources []string) ([]string, oauth.Scopes, *oauth.Error) {
	aud, s, err := oauth.Audience(oauth.AudienceSource{Issuer: t.Issuer, DefaultAPI: t.Settings.DefaultAPI,
		IsAPI: func(id string) bool { _, ok := a.rm.Catalog.API(t.Slug, id); return ok },
		ScopeAPI: func(name string) (string, bool) {
			sc, ok := a.rm.Catalog.Scope(t.Slug, name)
			return sc.API, ok
		}}, scope, resources)
	return aud, s, oauthError(err)
}

// checkScopes refuses scopes that the client may not use or the environment does not have.
func (a *App) checkScopes(t tenants.Tenant, requested, allowed oauth.Scopes) *oauth.Error {
	if missing, ok := requested.SubsetOf(allowed); !ok {
		return oauth.ErrInvalidScope.WithDescription("scope %q is not allowed for this client", missing)
	}
	for _, s := range requested {
		if _, ok := a.rm.Catalog.Scope(t.Slug, s); !ok {
			return oauth.ErrInvalidScope.WithDescription("scope %q does not exist", s)
		}
	}
	return nil
}
