package ratelimit

import (
	"sync"
	"testing"
	"time"

	"github.com/paylent/paylent/internal/natstest"
)

type refusals struct {
	mu sync.Mutex
	by map[string]int
}

func (r *refusals) RateLimited(limit string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.by[limit]++
}

// Every refusal is reported once, named by its key's first part (never the address), from
// the store, the local fast path and the fallbacks alike; admissions are not.
func TestObserverCountsRefusals(t *testing.T) {
	s := natstest.Start(t)
	obs := &refusals{by: map[string]int{}}
	l := newLimiter(t, connect(t, s.ClientURL()), Options{Observer: obs})
	for range 5 { // 2 admitted, 3 refused (the store, then the fast path)
		if _, err := l.Allow(t.Context(), "token:acme-test:203.0.113.7", 2, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := l.Allow(t.Context(), "management:acme-test:client-1", 1, time.Minute); err != nil || !d.Allowed {
		t.Fatalf("management: %+v %v", d, err)
	}
	if d, _ := l.Allow(t.Context(), "management:acme-test:client-1", 1, time.Minute); d.Allowed {
		t.Fatal("management: second request admitted")
	}
	l.degraded("login:acme-test:192.0.2.1", 1, time.Minute, true)  // admitted
	l.degraded("login:acme-test:192.0.2.1", 1, time.Minute, true)  // refused by the fallback
	l.degraded("login:acme-test:192.0.2.2", 1, time.Minute, false) // refused: fail closed
	l.degraded("no-name", 1, time.Minute, false)

	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := map[string]int{"token": 3, "management": 1, "login": 2, "other": 1}
	if len(obs.by) != len(want) {
		t.Errorf("refusals %v, want %v", obs.by, want)
	}
	for k, n := range want {
		if obs.by[k] != n {
			t.Errorf("refusals %v, want %v", obs.by, want)
			break
		}
	}
}
