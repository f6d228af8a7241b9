package resourceserver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// A new kid costs one refetch; the old kid keeps verifying while the JWKS lists it, and
// stops once it is withdrawn and the cache has expired.
func TestKeyRotation(t *testing.T) {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	clk := newClock()
	v := iss.verifier(clk)
	old := iss.sign("k1", jwa.RS256, iss.claims(clk.Now()))
	mustVerify(t, v, old)
	if iss.discoveries.Load() != 1 || iss.jwksFetches.Load() != 1 {
		t.Fatalf("first use: %d discoveries, %d JWKS fetches", iss.discoveries.Load(), iss.jwksFetches.Load())
	}

	iss.publish("k2", 1)
	clk.Advance(DefaultMinRefreshInterval + time.Second)
	mustVerify(t, v, iss.sign("k2", jwa.RS256, iss.claims(clk.Now())))
	mustVerify(t, v, old)
	if iss.discoveries.Load() != 1 || iss.jwksFetches.Load() != 2 {
		t.Errorf("after rotation: %d discoveries, %d JWKS fetches; want 1 and 2", iss.discoveries.Load(), iss.jwksFetches.Load())
	}

	// k1 retired: once the cache expires (max-age 300) and the refresh lands, it is refused.
	iss.withdraw("k1")
	clk.Advance(301 * time.Second)
	mustVerify(t, v, old) // still the cached keys; triggers the refresh in the background
	eventually(t, 5*time.Second, "refresh after expiry", func() bool { return iss.jwksFetches.Load() == 3 })
	eventually(t, 5*time.Second, "withdrawn key refused", func() bool {
		_, err := v.Verify(t.Context(), old)
		return err != nil && strings.Contains(err.Error(), descUnknownKey)
	})
}

// However many tokens with made-up kids arrive, the JWKS is fetched at most once per
// MinRefreshInterval.
func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	clk := newClock()
	v := iss.verifier(clk)
	mustVerify(t, v, iss.sign("k1", jwa.RS256, iss.claims(clk.Now())))
	flood := func() {
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Go(func() {
				_, err := v.Verify(t.Context(), iss.sign(fmt.Sprintf("made-up-%d", i), jwa.RS256, iss.claims(clk.Now())))
				if err == nil || !strings.Contains(err.Error(), descUnknownKey) {
					t.Errorf("made-up kid: %s", describe(err))
				}
			})
		}
		wg.Wait()
	}
	flood()
	if n := iss.jwksFetches.Load(); n != 1 {
		t.Errorf("a flood right after a fetch fetched again: %d fetches", n)
	}
	clk.Advance(DefaultMinRefreshInterval)
	flood()
	if n := iss.jwksFetches.Load(); n != 2 {
		t.Errorf("a flood after the interval: %d fetches, want 2", n)
	}
	clk.Advance(DefaultMinRefreshInterval / 2)
	flood()
	if n := iss.jwksFetches.Load(); n != 2 {
		t.Errorf("a flood within the interval: %d fetches, want 2", n)
	}
}

// Concurrent verifications on a cold cache share one discovery and one JWKS fetch.
func TestColdStartSharesOneFetch(t *testing.T) {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	iss.set(func(s *testIssuer) { s.jwksDelay = 100 * time.Millisecond })
	v := iss.verifier(nil)
	tok := iss.sign("k1", jwa.RS256, iss.claims(time.Now()))
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { mustVerify(t, v, tok) })
	}
	wg.Wait()
	if iss.discoveries.Load() != 1 || iss.jwksFetches.Load() != 1 {
		t.Errorf("%d discoveries, %d JWKS fetches; want 1 each", iss.discoveries.Load(), iss.jwksFetches.Load())
	}
}

func TestCacheControl(t *testing.T) {
	cases := []struct {
		header   string
		fresh    time.Duration // still cached after this
		stale    time.Duration // refetched after this
		override time.Duration // KeyCacheTTL
	}{
		{"public, max-age=60", 59 * time.Second, 61 * time.Second, 0},
		{"", 299 * time.Second, 301 * time.Second, 0},
		{"", 59 * time.Second, 61 * time.Second, time.Minute},
		{"max-age=3600, must-revalidate", 3599 * time.Second, 3601 * time.Second, time.Minute},
		{"no-store", 9 * time.Second, 10 * time.Second, 0}, // expired at once: refetched per interval
	}
	for _, c := range cases {
		t.Run(c.header+"/"+c.override.String(), func(t *testing.T) {
			iss := newIssuer(t)
			iss.publish("k1", 0)
			iss.set(func(s *testIssuer) { s.cacheControl = c.header })
			clk := newClock()
			v := iss.verifier(clk, func(cfg *Config) { cfg.KeyCacheTTL = c.override })
			tok := iss.sign("k1", jwa.RS256, iss.claims(clk.Now()))
			mustVerify(t, v, tok)
			clk.Advance(c.fresh)
			mustVerify(t, v, tok)
			time.Sleep(20 * time.Millisecond)
			if n := iss.jwksFetches.Load(); n != 1 {
				t.Fatalf("refetched after %s: %d fetches", c.fresh, n)
			}
			clk.Advance(c.stale - c.fresh)
			mustVerify(t, v, tok)
			eventually(t, 5*time.Second, "refetch after "+c.stale.String(), func() bool { return iss.jwksFetches.Load() == 2 })
		})
	}
	if age, ok := cacheMaxAge([]string{"public", `max-age="120"`}); !ok || age != 2*time.Minute {
		t.Errorf("quoted max-age: %s %v", age, ok)
	}
	if age, ok := cacheMaxAge([]string{"max-age=99999999"}); !ok || age != maxCacheAge {
		t.Errorf("huge max-age: %s %v", age, ok)
	}
}

// While the issuer is down, cached keys keep verifying; a verifier that never got keys
// answers unavailable (503), and does not retry more than once per interval.
func TestIssuerOutage(t *testing.T) {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	clk := newClock()
	v := iss.verifier(clk)
	tok := iss.sign("k1", jwa.RS256, iss.claims(clk.Now()))
	mustVerify(t, v, tok)
	iss.set(func(s *testIssuer) { s.jwksStatus = http.StatusInternalServerError })
	clk.Advance(301 * time.Second)
	mustVerify(t, v, tok)
	eventually(t, 5*time.Second, "refresh attempted", func() bool { return iss.jwksFetches.Load() == 2 })
	mustVerify(t, v, tok)

	cold := iss.verifier(clk)
	for range 3 {
		if _, err := cold.Verify(t.Context(), tok); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("no keys at all: %s", describe(err))
		}
	}
	if n := iss.jwksFetches.Load(); n != 3 {
		t.Errorf("failed fetches are rate limited too: %d", n)
	}
	if err := cold.Prefetch(t.Context()); err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Errorf("Prefetch: %v", err)
	}
}

func TestDiscoveryMustNameTheIssuer(t *testing.T) {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	iss.set(func(s *testIssuer) { s.discoveryIssuer = "http://evil.localhost:4000" })
	v := iss.verifier(nil)
	err := v.Prefetch(t.Context())
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "evil") {
		t.Errorf("Prefetch: %v", err)
	}
	if iss.jwksFetches.Load() != 0 {
		t.Error("JWKS fetched from an issuer whose discovery names another")
	}
}

func mustVerify(t testing.TB, v *Verifier, token string) *Claims {
	t.Helper()
	c, err := v.Verify(t.Context(), token)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return c
}
