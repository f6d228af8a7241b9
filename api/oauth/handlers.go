package oauth

import (
	"context"
	"github.com/paylent/paylent/internal/eventsig"
	"log/slog"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/projections/tokens"
)

// Keys is what the endpoints need of an environment's signing keys.
type Keys interface {
	// Signer is the primary private key, parsed and precomputed once.
	Signer(env string) (*keys.Signer, error)
	// VerificationKeys are the public keys tokens may be signed with at now.
	VerificationKeys(env string, now time.Time) jwk.Set
	// JWKS is the published key set document.
	JWKS(env string, now time.Time) ([]byte, error)
}

// Waiter waits until a projection has applied a position (read-your-own-writes).
type Waiter interface {
	WaitFor(ctx context.Context, pos int64) error
}

// Deps wire the handlers.
type Deps struct {
	Loop     *eventstore.Loop
	Store    eventstore.Store
	Registry *domain.Registry
	// Head reads the store's head after a request arrived (projections.HeadReader):
	// answers that must not be stale wait until the projection has applied it.
	Head interface {
		Latest(ctx context.Context) (int64, error)
	}
	Catalog *catalog.Catalog
	Tokens  *tokens.Store
	// TokensReady and CatalogReady wait for the tokens and catalog projections.
	TokensReady  Waiter
	CatalogReady Waiter
	Keys         Keys
	// KeysReady waits for the keys projection.
	KeysReady Waiter
	// RotationKey (the master key) keys the derivation of rotated refresh tokens.
	RotationKey []byte
	// EventKeys are the public keys the relay signs events with, published at
	// /.well-known/paylent-event-keys.json for resource servers and downstream services.
	EventKeys *eventsig.KeySet
	Now       func() time.Time
	Logger    *slog.Logger
}

// Handlers serve the OAuth endpoints.
type Handlers struct {
	Deps
	log *slog.Logger
}

// New returns the handlers.
func New(d Deps) *Handlers {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handlers{Deps: d, log: d.Logger}
}

// readYourWrite waits, bounded, until the local tokens projection has applied pos.
func (h *Handlers) readYourWrite(ctx context.Context, pos int64) error {
	if pos == 0 || h.TokensReady == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return h.TokensReady.WaitFor(ctx, pos)
}

// fresh waits, bounded, until the tokens projection has applied everything committed before
// the request arrived, so that a revocation made on any instance is seen here. Without the
// database it answers from what the projection has.
func (h *Handlers) fresh(ctx context.Context) {
	if h.Head == nil || h.TokensReady == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	head, err := h.Head.Latest(ctx)
	if err == nil {
		err = h.TokensReady.WaitFor(ctx, head)
	}
	if err == nil && h.CatalogReady != nil { // a token's user and client must be current too
		err = h.CatalogReady.WaitFor(ctx, head)
	}
	if err != nil {
		h.log.Warn("cannot confirm the tokens and catalog projections are current; answering from what they have", "err", err)
	}
}

// user finds a user in the catalog; one just created on another instance may not be
// projected here yet, so a miss waits (bounded) for the newest known position once.
func (h *Handlers) user(ctx context.Context, env, id string) (catalog.User, bool) {
	if u, ok := h.Catalog.User(env, id); ok || !h.catchUpCatalog(ctx) {
		return u, ok
	}
	return h.Catalog.User(env, id)
}
