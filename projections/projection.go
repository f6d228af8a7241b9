package projections

import (
	"context"

	"github.com/paylent/paylent/domain"
)

// Projection is a read model folded from the event log. Apply is called from one goroutine
// at a time, in position order, exactly once per event; queries may run concurrently with it,
// so implementations guard their state.
type Projection interface {
	// Name identifies the projection (checkpoints, `paylent projections rebuild --name`).
	Name() string
	// Apply folds one event. An error stops the projection: it must not skip events.
	Apply(rec domain.Record) error
	// Snapshot encodes the whole state deterministically: equal states, equal bytes.
	Snapshot() ([]byte, error)
	// Restore replaces the whole state with a snapshot's.
	Restore(snapshot []byte) error
	// New returns an empty projection of the same kind (used to rebuild beside the live one).
	New() Projection
}

// Source is the part of the event store a runtime reads.
type Source interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]domain.Envelope, error)
	Head(ctx context.Context) (int64, error)
}
