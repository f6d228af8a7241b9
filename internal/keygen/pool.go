package keygen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/paylent/paylent/domain/signingkey"
)

// PoolOptions configure a Pool.
type PoolOptions struct {
	// MasterKey seals every key as it is made: the pool holds no private key in clear.
	MasterKey []byte
	// Rand supplies the nonces (crypto/rand when nil).
	Rand io.Reader
	// Size is how many keys the pool holds at most (default 256; about 2 KiB each).
	Size int
	// Workers is how many goroutines refill it in the background, so at most that many
	// cores (default 1).
	Workers int
	// Inline is how many keys callers may generate at once when the pool is empty
	// (default the number of CPUs); further callers queue until their context ends.
	Inline int
	Logger *slog.Logger
}

// Pool is a bounded stock of signing keys generated ahead of need, within a fixed CPU
// budget: Workers goroutines refill it while it has room, and callers that find it empty
// generate inline behind a semaphore of Inline slots. Each instance has its own pool; keys
// left in it when the process ends are never used. A nil *Pool generates every key inline.
type Pool struct {
	opts   PoolOptions
	log    *slog.Logger
	keys   chan signingkey.Material // the stock
	room   chan struct{}            // one token per free place: the bound on keys made ahead
	inline chan struct{}            // semaphore of inline generation

	running                   atomic.Bool
	generated, inlined, taken atomic.Int64
}

// NewPool returns an empty pool; Run fills it.
func NewPool(opts PoolOptions) *Pool {
	if opts.Size <= 0 {
		opts.Size = 256
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Inline <= 0 {
		opts.Inline = runtime.NumCPU()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{opts: opts, log: opts.Logger.With("component", "key-pool"),
		keys: make(chan signingkey.Material, opts.Size), room: make(chan struct{}, opts.Size),
		inline: make(chan struct{}, opts.Inline)}
	for range opts.Size {
		p.room <- struct{}{}
	}
	return p
}

// Run refills the pool with Workers goroutines until ctx ends.
func (p *Pool) Run(ctx context.Context) error {
	p.running.Store(true)
	defer p.running.Store(false)
	done := make(chan struct{})
	for range p.opts.Workers {
		go func() {
			defer func() { done <- struct{}{} }()
			p.refill(ctx)
		}()
	}
	for range p.opts.Workers {
		<-done
	}
	return nil
}

// refill makes a key whenever there is room for one, until ctx ends.
func (p *Pool) refill(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.room:
		}
		m, err := Material(p.opts.MasterKey, p.opts.Rand)
		if err != nil {
			p.room <- struct{}{}
			p.log.Error("cannot generate a signing key for the pool; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		p.generated.Add(1)
		p.keys <- m // never blocks: a room token was taken for it
	}
}

// Take returns n keys: from the pool while it has some, the rest generated inline behind
// the inline budget (waiting for a slot until ctx ends).
func (p *Pool) Take(ctx context.Context, n int) ([]signingkey.Material, error) {
	out := make([]signingkey.Material, 0, n)
	for len(out) < n {
		select {
		case m := <-p.keys:
			p.taken.Add(1)
			p.room <- struct{}{}
			out = append(out, m)
			continue
		default:
		}
		m, err := p.generateInline(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Put adds a key made elsewhere (tests, benchmarks that stock a pool with material of their
// own) if there is room, and reports whether it did. Each key must be used once only.
func (p *Pool) Put(m signingkey.Material) bool {
	select {
	case <-p.room:
		p.keys <- m
		return true
	default:
		return false
	}
}

// generateInline makes one key in the caller's goroutine once an inline slot is free.
func (p *Pool) generateInline(ctx context.Context) (signingkey.Material, error) {
	if err := ctx.Err(); err != nil {
		return signingkey.Material{}, fmt.Errorf("wait to generate a signing key: %w", err)
	}
	select {
	case p.inline <- struct{}{}:
	case <-ctx.Done():
		return signingkey.Material{}, fmt.Errorf("wait to generate a signing key: %w", ctx.Err())
	}
	defer func() { <-p.inline }()
	p.inlined.Add(1)
	return Material(p.opts.MasterKey, p.opts.Rand)
}

// Spare returns one key for background work (a next key, made after its environment was
// created), without drawing the pool below half of its size and without generating: it
// waits for the refill instead, so background work never takes keys a creation would
// need nor more CPU than the refill's budget. A pool that is not running generates it
// inline.
func (p *Pool) Spare(ctx context.Context) (signingkey.Material, error) {
	if !p.running.Load() {
		return p.generateInline(ctx)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if len(p.keys) > p.opts.Size/2 {
			select {
			case m := <-p.keys:
				p.taken.Add(1)
				p.room <- struct{}{}
				return m, nil
			default:
			}
		}
		select {
		case <-ctx.Done():
			return signingkey.Material{}, fmt.Errorf("wait for a spare signing key: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// PoolStats are a pool's counters.
type PoolStats struct {
	// Available is how many keys the pool holds now; Size its bound.
	Available, Size int
	// Generated counts keys the refill made, Inline keys callers made themselves, Taken
	// keys handed out of the pool.
	Generated, Inline, Taken int64
}

// Stats reports the pool's counters.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Available: len(p.keys), Size: p.opts.Size, Generated: p.generated.Load(),
		Inline: p.inlined.Load(), Taken: p.taken.Load()}
}

// LogValue reports counters only: the pool's keys are sealed, and never logged anyway.
func (p *Pool) LogValue() slog.Value {
	s := p.Stats()
	return slog.GroupValue(slog.Int("available", s.Available), slog.Int("size", s.Size),
		slog.Int64("generated", s.Generated), slog.Int64("inline", s.Inline))
}
