package oauth

import (
	"context"
	"errors"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/projections/tokens"
	"github.com/paylent/paylent/tenants"
)

// ErrInvalidAccessToken: a bearer token that is not an active access token of the environment.
var ErrInvalidAccessToken = errors.New("invalid access token")

// VerifyAccessToken checks a bearer token presented to one of Paylent's own APIs (UserInfo,
// the Management API): an active access token of this environment, current as of the
// request (a revocation made anywhere before it counts).
func (h *Handlers) VerifyAccessToken(ctx context.Context, t tenants.Tenant, value string) (tokens.Token, error) {
	if err := h.App.TokensCurrent(ctx); err != nil {
		return tokens.Token{}, err
	}
	tok, err := h.App.LookupToken(ctx, t, value)
	switch {
	case errors.Is(err, app.ErrUnknownToken):
		return tokens.Token{}, ErrInvalidAccessToken
	case err != nil:
		return tokens.Token{}, err
	case tok.Kind != token.KindAccess || !tok.Active(h.Now()):
		return tokens.Token{}, ErrInvalidAccessToken
	}
	return tok.Token, nil
}
