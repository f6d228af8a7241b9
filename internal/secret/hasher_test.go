package secret

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gate replaces the Argon2id computation: each computation announces itself on started,
// counts how many run at once, and blocks until released.
type gate struct {
	running, peak atomic.Int64
	started       chan struct{}
	release       chan struct{}
}

func newGate(h *Hasher) *gate {
	g := &gate{started: make(chan struct{}, 1000), release: make(chan struct{})}
	h.idKey = func(password, salt []byte, p PasswordParams, keyLen uint32) []byte {
		n := g.running.Add(1)
		for {
			peak := g.peak.Load()
			if n <= peak || g.peak.CompareAndSwap(peak, n) {
				break
			}
		}
		g.started <- struct{}{}
		<-g.release
		g.running.Add(-1)
		return make([]byte, keyLen)
	}
	return g
}

// waitUntil polls cond until it holds (a condition, not a fixed sleep).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func testParams() PasswordParams { return PasswordParams{MemoryKiB: 19 * 1024, Time: 2, Threads: 1} }

func TestHasherLimitsConcurrency(t *testing.T) {
	before := runtime.NumGoroutine()
	// Two CPUs, a 256 MiB budget: two computations of 19 MiB at once (the CPU bound);
	// with one CPU's share at 128 MiB, two 64 MiB (old) hashes too, never three.
	h := NewHasher(HasherConfig{Params: testParams(), CPUs: 2, MemoryBudgetKiB: 256 * 1024, MaxWaiting: 100, MaxWait: time.Minute})
	if h.Limit() != 2 {
		t.Fatalf("limit %d, want 2", h.Limit())
	}
	g := newGate(h)
	var wg sync.WaitGroup
	var errs atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := h.Hash(t.Context(), "correct horse battery"); err != nil {
				errs.Add(1)
			}
		})
	}
	// Two run and hold their turns; each release lets exactly one more in.
	<-g.started
	<-g.started
	for i := range 20 {
		if g.running.Load() > 2 {
			t.Errorf("%d computations at once, limit 2", g.running.Load())
		}
		g.release <- struct{}{}
		if i < 18 {
			<-g.started
		}
	}
	wg.Wait()
	if g.peak.Load() != 2 || errs.Load() != 0 {
		t.Errorf("peak %d (want 2), %d errors", g.peak.Load(), errs.Load())
	}
	waitUntil(t, "no goroutine left behind", func() bool { return runtime.NumGoroutine() <= before })
}

// A memory budget smaller than the CPUs' share bounds the computations by memory.
func TestHasherMemoryBudget(t *testing.T) {
	h := NewHasher(HasherConfig{Params: PasswordParams{MemoryKiB: 64 * 1024, Time: 1, Threads: 1}, CPUs: 8, MemoryBudgetKiB: 128 * 1024})
	if h.Limit() != 2 {
		t.Errorf("8 CPUs, 128 MiB, 64 MiB a hash: limit %d, want 2", h.Limit())
	}
	if h := NewHasher(HasherConfig{Params: PasswordParams{MemoryKiB: 512 * 1024, Time: 1, Threads: 1}, CPUs: 2, MemoryBudgetKiB: 256 * 1024}); h.Limit() != 1 {
		t.Errorf("a hash larger than the budget: limit %d, want 1", h.Limit())
	}
}

func TestHasherQueueOverflowsWithErrBusy(t *testing.T) {
	h := NewHasher(HasherConfig{Params: testParams(), CPUs: 1, MemoryBudgetKiB: 64 * 1024, MaxWaiting: 3, MaxWait: time.Minute})
	g := newGate(h)
	results := make(chan error, 10)
	hash := func() {
		_, err := h.Hash(t.Context(), "correct horse battery")
		results <- err
	}
	go hash()
	<-g.started // one computes
	for range 3 {
		go hash()
	}
	waitUntil(t, "three callers queued", func() bool { return h.waiting.Load() == 3 })
	// The queue is full: the next caller is refused at once, without computing.
	if _, err := h.Verify(t.Context(), encodePHC(testParams(), make([]byte, 16), make([]byte, 32)), "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("beyond the queue: %v, want ErrBusy", err)
	}
	if st := h.Stats(); st != (HasherStats{Waiting: 3, Running: 1, Busy: 1}) {
		t.Errorf("stats with the queue full: %+v", st)
	}
	for i := range 4 {
		g.release <- struct{}{}
		if err := <-results; err != nil {
			t.Errorf("queued caller: %v", err)
		}
		if i < 3 {
			<-g.started // the next in the queue computes
		}
	}
	if h.waiting.Load() != 0 || g.running.Load() != 0 {
		t.Errorf("after the queue drained: %d waiting, %d running", h.waiting.Load(), g.running.Load())
	}
	if st := h.Stats(); st != (HasherStats{Busy: 1}) {
		t.Errorf("stats after the queue drained: %+v", st)
	}
}

func TestHasherDeadline(t *testing.T) {
	h := NewHasher(HasherConfig{Params: testParams(), CPUs: 1, MemoryBudgetKiB: 64 * 1024, MaxWait: 50 * time.Millisecond})
	g := newGate(h)
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(t.Context(), "correct horse battery")
		done <- err
	}()
	<-g.started
	start := time.Now()
	_, err := h.Hash(t.Context(), "correct horse battery")
	if !errors.Is(err, ErrBusy) || time.Since(start) < 50*time.Millisecond {
		t.Errorf("after the deadline: %v after %s, want ErrBusy after 50ms", err, time.Since(start))
	}
	if h.waiting.Load() != 0 {
		t.Errorf("a caller past its deadline still counts as waiting")
	}
	g.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The turn was given back: the next caller computes at once.
	go func() { <-g.started; g.release <- struct{}{} }()
	if _, err := h.Hash(t.Context(), "correct horse battery"); err != nil {
		t.Errorf("after release: %v", err)
	}
}

func TestHasherCancelReleasesTheWaiter(t *testing.T) {
	before := runtime.NumGoroutine()
	h := NewHasher(HasherConfig{Params: testParams(), CPUs: 1, MemoryBudgetKiB: 64 * 1024, MaxWait: time.Minute})
	g := newGate(h)
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(t.Context(), "correct horse battery")
		done <- err
	}()
	<-g.started
	ctx, cancel := context.WithCancel(t.Context())
	waited := make(chan error, 1)
	go func() {
		_, err := h.Verify(ctx, encodePHC(testParams(), make([]byte, 16), make([]byte, 32)), "x")
		waited <- err
	}()
	waitUntil(t, "caller queued", func() bool { return h.waiting.Load() == 1 })
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
	if h.waiting.Load() != 0 {
		t.Error("a cancelled caller still counts as waiting")
	}
	g.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if g.peak.Load() != 1 {
		t.Errorf("the cancelled caller computed anyway (peak %d)", g.peak.Load())
	}
	waitUntil(t, "no goroutine left behind", func() bool { return runtime.NumGoroutine() <= before })
}

func TestHasherDummy(t *testing.T) {
	h := NewHasher(HasherConfig{Params: PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}})
	d1, err := h.Dummy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := h.Dummy(t.Context()); d2 != d1 || NeedsRehash(d1, h.Params()) {
		t.Errorf("dummy %q then %q", d1, d2)
	}
	if ok, err := h.Verify(t.Context(), d1, ""); ok || err != nil {
		t.Errorf("dummy verifies: %v %v", ok, err)
	}
}

// Real Argon2id through a hasher under contention: every answer is a hash or ErrBusy.
func TestHasherUnderLoad(t *testing.T) {
	h := NewHasher(HasherConfig{Params: PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}, CPUs: 2, MaxWaiting: 4, MaxWait: time.Second})
	var wg sync.WaitGroup
	var ok, busy atomic.Int64
	for range 50 {
		wg.Go(func() {
			switch _, err := h.Hash(t.Context(), "correct horse battery"); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load()+busy.Load() != 50 || ok.Load() < 6 {
		t.Errorf("%d hashed, %d busy", ok.Load(), busy.Load())
	}
}
