package projections

import (
	"context"
	"sync"
)

// HeadReader reads the store's head position for callers that must not answer from a stale
// read model (introspection after a revocation made on another instance). Concurrent callers
// share reads, but a caller only ever joins a read that starts after it arrived, so the
// position it gets includes every commit that finished before its request: wait for that
// position and the answer is current. Under load, one read serves everyone who arrived while
// the previous one ran.
type HeadReader struct {
	read func(context.Context) (int64, error)

	mu      sync.Mutex
	running bool
	next    *headFlight // the read that starts when the running one ends
}

type headFlight struct {
	done chan struct{}
	pos  int64
	err  error
}

// NewHeadReader returns a reader over read (the event store's Head).
func NewHeadReader(read func(context.Context) (int64, error)) *HeadReader {
	return &HeadReader{read: read}
}

// Latest returns a head position read after the call began.
func (r *HeadReader) Latest(ctx context.Context) (int64, error) {
	r.mu.Lock()
	if r.next == nil {
		r.next = &headFlight{done: make(chan struct{})}
	}
	f := r.next
	if !r.running {
		r.running = true
		go r.loop()
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.pos, f.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// loop runs queued reads one after another until nobody waits.
func (r *HeadReader) loop() {
	for {
		r.mu.Lock()
		f := r.next
		r.next = nil
		if f == nil {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		f.pos, f.err = r.read(context.Background())
		close(f.done)
	}
}
