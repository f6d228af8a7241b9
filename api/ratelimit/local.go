package ratelimit

import (
	"context"
	"sync"
	"time"
)

// keyLocks serialises this process's requests for one key, so that they queue here
// rather than race each other's compare-and-set in NATS: contention on a key is then at
// most one writer per instance.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sem  chan struct{}
	refs int
}

// lock waits for key's lock, or for ctx. The returned func releases it.
func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyLock)
	}
	kl := k.m[key]
	if kl == nil {
		kl = &keyLock{sem: make(chan struct{}, 1)}
		k.m[key] = kl
	}
	kl.refs++
	k.mu.Unlock()

	release := func() {
		k.mu.Lock()
		if kl.refs--; kl.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case kl.sem <- struct{}{}:
		return func() { <-kl.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// denials is the local fast path: a key refused by the shared ledger stays refused until
// its oldest counted request leaves the window. That is exact, not a guess: while the
// ledger is full no instance can add to it, so nothing earlier can change the answer.
// Entries remember the limit and window they were computed for and apply only to those.
type denials struct {
	mu  sync.Mutex
	max int
	m   map[string]denial
}

type denial struct {
	until  time.Time
	limit  int
	window time.Duration
}

func (d *denials) lookup(key string, limit int, window time.Duration, now time.Time) (Decision, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.m[key]
	if !ok {
		return Decision{}, false
	}
	if !now.Before(e.until) {
		delete(d.m, key)
		return Decision{}, false
	}
	if e.limit != limit || e.window != window {
		return Decision{}, false
	}
	return Decision{RetryAfter: e.until.Sub(now), Reset: e.until}, true
}

func (d *denials) store(key string, limit int, window time.Duration, until, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]denial)
	}
	if len(d.m) >= d.max {
		for k, e := range d.m {
			if !now.Before(e.until) {
				delete(d.m, k)
			}
		}
		shrink(d.m, d.max) // only a cache: the shared ledger still refuses
	}
	d.m[key] = denial{until: until, limit: limit, window: window}
}

// fallback keeps per-process ledgers for when the shared store is unavailable and the
// use fails open: each instance then enforces the limit on its own, so the bound across
// N instances loosens to N×limit instead of vanishing. At most max keys are kept; beyond
// that, expired keys are dropped, then arbitrary ones.
type fallback struct {
	mu  sync.Mutex
	max int
	m   map[string]localLedger
}

type localLedger struct {
	l      ledger
	window time.Duration
}

func (f *fallback) admit(key string, limit int, window time.Duration, now time.Time) Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[string]localLedger)
	}
	ms := now.UnixMilli()
	e, ok := f.m[key]
	if !ok && len(f.m) >= f.max {
		f.evict(ms)
	}
	next, d := e.l.admit(ms, limit, window)
	if d.Allowed {
		f.m[key] = localLedger{l: next, window: window}
	}
	return d
}

func (f *fallback) evict(now int64) {
	for k, e := range f.m {
		if len(e.l.live(now, e.window.Milliseconds())) == 0 {
			delete(f.m, k)
		}
	}
	shrink(f.m, f.max)
}

// shrink drops arbitrary entries until m is an eighth below max, so that a map full of
// live entries is swept once per max/8 insertions, not on every one.
func shrink[V any](m map[string]V, capacity int) {
	if len(m) < capacity {
		return
	}
	for k := range m {
		if len(m) < capacity-capacity/8 {
			return
		}
		delete(m, k)
	}
}

// clear forgets the fallback ledgers once the shared store answers again.
func (f *fallback) clear() {
	f.mu.Lock()
	clear(f.m)
	f.mu.Unlock()
}
