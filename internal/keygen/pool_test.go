package keygen_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/internal/keygen"
)

var master = bytes.Repeat([]byte{7}, signingkey.MasterKeySize)

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func run(t *testing.T, p *keygen.Pool) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }() //nolint:errcheck // Run returns nil
	t.Cleanup(func() { cancel(); <-done })
}

func TestPoolIsBoundedAndRefills(t *testing.T) {
	p := keygen.NewPool(keygen.PoolOptions{MasterKey: master, Size: 3, Workers: 2})
	run(t, p)
	eventually(t, "a full pool", func() bool { return p.Stats().Available == 3 })
	time.Sleep(200 * time.Millisecond) // the workers must now be idle
	if s := p.Stats(); s.Generated != 3 || s.Available != 3 {
		t.Fatalf("full pool: %+v; want exactly 3 generated", s)
	}
	keys, err := p.Take(t.Context(), 2)
	if err != nil || len(keys) != 2 {
		t.Fatalf("take 2: %v, %d keys", err, len(keys))
	}
	if s := p.Stats(); s.Inline != 0 || s.Taken != 2 {
		t.Fatalf("after taking 2 from a full pool: %+v; want them from the pool", s)
	}
	eventually(t, "the pool refilled", func() bool { return p.Stats().Available == 3 })
	if s := p.Stats(); s.Generated != 5 {
		t.Fatalf("after refill: %+v; want 5 generated", s)
	}
}

func TestPoolFallsBackToInlineGeneration(t *testing.T) {
	p := keygen.NewPool(keygen.PoolOptions{MasterKey: master, Size: 4}) // never run: always empty
	keys, err := p.Take(t.Context(), 2)
	if err != nil || len(keys) != 2 {
		t.Fatalf("take from an empty pool: %v, %d keys", err, len(keys))
	}
	if s := p.Stats(); s.Inline != 2 || s.Taken != 0 {
		t.Fatalf("stats %+v; want 2 generated inline", s)
	}
	spare, err := p.Spare(t.Context()) // a pool that is not running makes a spare inline
	if err != nil || spare.KID == "" {
		t.Fatalf("spare from a stopped pool: %v", err)
	}
	for _, k := range append(keys, spare) {
		plain, err := signingkey.Open(master, k.SealedPrivate)
		if err != nil || len(plain) == 0 {
			t.Fatalf("key %s does not open with the master key: %v", k.KID, err)
		}
	}
}

func TestPoolInlineBudgetHonoursDeadline(t *testing.T) {
	p := keygen.NewPool(keygen.PoolOptions{MasterKey: master, Size: 1, Inline: 1})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Take(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("take with a cancelled context from an empty pool: %v; want context.Canceled", err)
	}
}

func TestPoolSpareKeepsHalfForCreations(t *testing.T) {
	p := keygen.NewPool(keygen.PoolOptions{MasterKey: master, Size: 2})
	run(t, p)
	eventually(t, "a full pool", func() bool { return p.Stats().Available == 2 })
	if _, err := p.Spare(t.Context()); err != nil {
		t.Fatal(err)
	}
	// One left = half the size: a spare must wait for the refill, never generate inline.
	if _, err := p.Spare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Inline != 0 || s.Generated < 3 {
		t.Fatalf("stats %+v; want spares from the refill only", s)
	}
}

func TestPoolConcurrentTakers(t *testing.T) {
	p := keygen.NewPool(keygen.PoolOptions{MasterKey: master, Size: 4, Workers: 1, Inline: 2})
	run(t, p)
	eventually(t, "a full pool", func() bool { return p.Stats().Available == 4 })
	var (
		mu   sync.Mutex
		kids = map[string]bool{}
		wg   sync.WaitGroup
	)
	for range 6 {
		wg.Go(func() {
			keys, err := p.Take(t.Context(), 2)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				if kids[k.KID] {
					t.Errorf("key %s handed out twice", k.KID)
				}
				kids[k.KID] = true
			}
		})
	}
	wg.Wait()
	if s := p.Stats(); len(kids) != 12 || s.Taken+s.Inline != 12 || s.Available > 4 {
		t.Fatalf("%d distinct keys, stats %+v; want 12 = taken + inline, at most 4 available", len(kids), s)
	}
}

func TestPoolPutIsBounded(t *testing.T) {
	p := keygen.NewPool(keygen.PoolOptions{MasterKey: master, Size: 1})
	keys, err := keygen.Generate(master, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Put(keys[0]) || p.Put(keys[1]) {
		t.Fatal("a pool of one took two keys, or none")
	}
	got, err := p.Take(t.Context(), 1)
	if err != nil || got[0].KID != keys[0].KID || p.Stats().Inline != 0 {
		t.Fatalf("take after put: %v %+v", err, p.Stats())
	}
}
