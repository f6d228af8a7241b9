package oauth

import (
	"log/slog"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/projections/catalog"
)

// Keys is what the endpoints publish of an environment's signing keys.
type Keys interface {
	// JWKS is the published key set document.
	JWKS(env string, now time.Time) ([]byte, error)
}

// Deps wire the handlers. The flows (token issuance, revocation, token lookup) are the
// operations layer's; the handlers parse, authenticate the client, call one and render.
type Deps struct {
	App     *app.App
	Catalog *catalog.Catalog
	Keys    Keys
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
