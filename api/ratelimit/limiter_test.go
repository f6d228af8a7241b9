package ratelimit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/internal/natstest"
)

// connect opens a NATS connection of its own, as another instance would.
func connect(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func newLimiter(t testing.TB, js jetstream.JetStream, opts Options) *Limiter {
	t.Helper()
	l, err := New(t.Context(), js, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAllowExactCountWithinWindow(t *testing.T) {
	s := natstest.Start(t)
	l := newLimiter(t, connect(t, s.ClientURL()), Options{})
	ctx := t.Context()
	start := time.Now()
	for i := range 10 {
		d, err := l.Allow(ctx, "token:acme-test:203.0.113.7", 10, time.Minute)
		if err != nil || !d.Allowed || d.Remaining != 9-i || d.Degraded {
			t.Fatalf("request %d: %+v, %v", i+1, d, err)
		}
		if d.Reset.Before(start.Add(time.Minute-time.Second)) || d.Reset.After(time.Now().Add(time.Minute)) {
			t.Errorf("request %d: reset %s", i+1, d.Reset)
		}
	}
	for i := range 3 { // the second and third come from the local fast path
		d, err := l.Allow(ctx, "token:acme-test:203.0.113.7", 10, time.Minute)
		if err != nil || d.Allowed || d.Remaining != 0 || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
			t.Fatalf("refusal %d: %+v, %v", i+1, d, err)
		}
	}
	// Another environment's budget is its own.
	if d, err := l.Allow(ctx, "token:acme-live:203.0.113.7", 10, time.Minute); err != nil || !d.Allowed {
		t.Errorf("other environment: %+v, %v", d, err)
	}
}

// TestAllowSharedAcrossInstances is the property the package exists for: two instances,
// each on its own NATS connection, racing from many goroutines, admit exactly the limit.
func TestAllowSharedAcrossInstances(t *testing.T) {
	s := natstest.Start(t)
	limiters := []*Limiter{
		newLimiter(t, connect(t, s.ClientURL()), Options{}),
		newLimiter(t, connect(t, s.ClientURL()), Options{}), // binds the bucket the first created
	}
	const goroutines, requests, limit = 16, 20, 50
	var (
		mu        sync.Mutex
		remaining []int
		refused   int
		wg        sync.WaitGroup
	)
	for _, l := range limiters {
		for range goroutines {
			wg.Go(func() {
				for range requests {
					d, err := l.Allow(t.Context(), "login:acme-test:2001:db8::7", limit, time.Minute)
					mu.Lock()
					switch {
					case err != nil:
						t.Errorf("allow: %v", err)
					case d.Allowed:
						remaining = append(remaining, d.Remaining)
					default:
						refused++
						if d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
							t.Errorf("refused with retry after %s", d.RetryAfter)
						}
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(remaining) != limit || refused != 2*goroutines*requests-limit {
		t.Fatalf("admitted %d, refused %d; want %d admitted", len(remaining), refused, limit)
	}
	// Each admission saw the ledger the previous one wrote: Remaining took every value once.
	slices.Sort(remaining)
	for i, r := range remaining {
		if r != i {
			t.Fatalf("remaining values %v", remaining)
		}
	}
}

func TestAllowWindowResets(t *testing.T) {
	s := natstest.Start(t)
	l := newLimiter(t, connect(t, s.ClientURL()), Options{})
	ctx, key, window := t.Context(), "token:acme-test:198.51.100.1", time.Second
	allow := func() Decision {
		t.Helper()
		d, err := l.Allow(ctx, key, 3, window)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := range 3 {
		if d := allow(); !d.Allowed {
			t.Fatalf("request %d refused: %+v", i+1, d)
		}
	}
	d := allow()
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > window {
		t.Fatalf("4th: %+v", d)
	}
	// Retry-After is when the oldest request leaves the window: then one more fits.
	time.Sleep(d.RetryAfter + 20*time.Millisecond)
	if d := allow(); !d.Allowed {
		t.Fatalf("after Retry-After: %+v", d)
	}
	// A whole window later every request has left it.
	time.Sleep(window + 20*time.Millisecond)
	for i := range 3 {
		if d := allow(); !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("new window, request %d: %+v", i+1, d)
		}
	}
	if d := allow(); d.Allowed {
		t.Fatalf("new window, 4th: %+v", d)
	}
}

func TestAllowKeysAreEscapedAndSeparate(t *testing.T) {
	s := natstest.Start(t)
	js := connect(t, s.ClientURL())
	l := newLimiter(t, js, Options{})
	keys := []string{
		"token:acme-test:2001:db8::1",
		"token:acme-test:2001:db8::2",
		"token:acme-test:2001_3Adb8_3A_3A1", // what the first escapes to, as a raw key
		"token:acme-live:2001:db8::1",
		"token:acme-test:::ffff:192.0.2.1",
		"login:acme-test:\x00\xff.*>\n ",
		"management:acme-test:" + strings.Repeat("long-caller-", 20),
	}
	for _, k := range keys {
		if d, err := l.Allow(t.Context(), k, 1, time.Minute); err != nil || !d.Allowed {
			t.Fatalf("%q: %+v, %v", k, d, err)
		}
	}
	for _, k := range keys {
		if d, err := l.Allow(t.Context(), k, 1, time.Minute); err != nil || d.Allowed {
			t.Fatalf("%q again: %+v, %v", k, d, err)
		}
	}
	kv, err := js.KeyValue(t.Context(), DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	got, err := kv.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) || !slices.Contains(got, "token_3Aacme-test_3A2001_3Adb8_3A_3A1") {
		t.Errorf("stored keys %q", got)
	}
}

func TestAllowRejectsInvalidArguments(t *testing.T) {
	s := natstest.Start(t)
	l := newLimiter(t, connect(t, s.ClientURL()), Options{MaxWindow: time.Hour})
	for _, tc := range []struct {
		key    string
		limit  int
		window time.Duration
	}{{"", 10, time.Minute}, {"k", 0, time.Minute}, {"k", 10, 0}, {"k", 10, 2 * time.Hour}} {
		if _, err := l.Allow(t.Context(), tc.key, tc.limit, tc.window); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", tc, err)
		}
	}
}

func TestNewRefusesBucketWithShortTTL(t *testing.T) {
	s := natstest.Start(t)
	js := connect(t, s.ClientURL())
	if _, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "SHORT", TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(t.Context(), js, Options{Bucket: "SHORT", MaxWindow: time.Hour}); err == nil {
		t.Error("bound a bucket whose TTL is shorter than the longest window")
	}
	if _, err := New(t.Context(), js, Options{Bucket: "SHORT", MaxWindow: time.Minute}); err != nil {
		t.Error(err)
	}
}

// allowEventually retries until the store answers again after a restart.
func allowEventually(t *testing.T, l *Limiter, key string, limit int) Decision {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		d, err := l.Allow(ctx, key, limit, time.Minute)
		if err == nil {
			return d
		}
		if !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			t.Fatalf("allow after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUnavailableThenRecovers(t *testing.T) {
	s := natstest.Start(t)
	l := newLimiter(t, connect(t, s.ClientURL()), Options{Pause: 100 * time.Millisecond})
	key := "token:acme-test:192.0.2.9"
	if d, err := l.Allow(t.Context(), key, 2, time.Minute); err != nil || !d.Allowed {
		t.Fatalf("before: %+v, %v", d, err)
	}
	s.Shutdown()
	for i := range 3 {
		if _, err := l.Allow(t.Context(), key, 2, time.Minute); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("NATS down, call %d: %v", i+1, err)
		}
	}
	// Fail open: each instance limits on its own meanwhile.
	for i, want := range []bool{true, true, false} {
		if d := l.degraded(key, 2, time.Minute, true); d.Allowed != want || !d.Degraded {
			t.Errorf("fail open, call %d: %+v", i+1, d)
		}
	}
	if d := l.degraded(key, 2, time.Minute, false); d.Allowed || d.RetryAfter != failClosedRetry || !d.Degraded {
		t.Errorf("fail closed: %+v", d)
	}

	// The file-stored ledger survives the restart: one of the two is still spent.
	natstest.Restart(t, s)
	if d := allowEventually(t, l, key, 2); !d.Allowed || d.Remaining != 0 || d.Degraded {
		t.Errorf("after restart: %+v", d)
	}
	if d, err := l.Allow(t.Context(), key, 2, time.Minute); err != nil || d.Allowed {
		t.Errorf("after restart, over the limit: %+v, %v", d, err)
	}
}

func TestMemoryBucketIsRecreatedAfterRestart(t *testing.T) {
	s := natstest.Start(t)
	l := newLimiter(t, connect(t, s.ClientURL()), Options{Storage: jetstream.MemoryStorage, Pause: 100 * time.Millisecond})
	if d, err := l.Allow(t.Context(), "k", 2, time.Minute); err != nil || !d.Allowed {
		t.Fatalf("before: %+v, %v", d, err)
	}
	natstest.Restart(t, s)
	// Memory storage forgot the count and the bucket; the limiter creates it again.
	if d := allowEventually(t, l, "k", 2); !d.Allowed || d.Remaining != 1 {
		t.Errorf("after restart: %+v", d)
	}
}
