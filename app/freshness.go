package app

import (
	"context"
	"fmt"
	"time"
)

// The read side's freshness policies. Every read names one:
//   - AfterWrite(pos): after my own write, wait until the read models have applied pos;
//   - Current: wait until they have applied the log's head as read now, so whatever was
//     committed before the request arrived (on any instance) is seen;
//   - as is: read without waiting (no call).
//
// Waits are bounded by freshTimeout: past it the read answers 503 (ErrStale), never a
// silently stale answer where freshness was asked for.

// freshTimeout bounds a freshness wait: the Management API documents it (docs/MANAGEMENT_API.md,
// "up to 5 s"), and the dashboard waited as long before its pages shared this facade.
const freshTimeout = 5 * time.Second

// ErrStale: a read model could not reach the position a read needed in time.
var ErrStale = fmt.Errorf("read models are behind the event log; retry")

// ErrNoHead: the log's head could not be read (the event store is unreachable); it also
// matches ErrStale.
var ErrNoHead = fmt.Errorf("%w: the event log's head is unknown", ErrStale)

// AfterWrite waits until every given read model has applied pos.
func (a *App) AfterWrite(ctx context.Context, pos int64, models ...Waiter) error {
	if pos <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, freshTimeout)
	defer cancel()
	for _, m := range models {
		if m == nil {
			continue
		}
		if err := m.WaitFor(ctx, pos); err != nil {
			return fmt.Errorf("%w: %w", ErrStale, err)
		}
	}
	return nil
}

// Current waits until every given read model has applied the log's head as read now.
func (a *App) Current(ctx context.Context, models ...Waiter) error {
	if a.rm.Head == nil {
		return nil
	}
	ctx2, cancel := context.WithTimeout(ctx, freshTimeout)
	head, err := a.rm.Head.Latest(ctx2)
	cancel()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoHead, err)
	}
	return a.AfterWrite(ctx, head, models...)
}
