package resourceserver

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func introspecting(iss *testIssuer, clk *clock) *Verifier {
	return iss.verifier(clk, func(c *Config) {
		c.Introspection = &Introspection{ClientID: "rs:api", ClientSecret: "s3cr=t x"}
	})
}

// activeAnswer is Paylent's introspection answer for an active access token.
func activeAnswer(iss *testIssuer, now time.Time, jti string) jsonMap {
	return jsonMap{"active": true, "scope": "docs:read", "client_id": "client-1", "token_type": "Bearer",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "sub": "user-1",
		"aud": []string{testAudience}, "iss": iss.URL, "jti": jti}
}

func TestIntrospectionCachesActiveAnswersBriefly(t *testing.T) {
	iss := newIssuer(t)
	clk := newClock()
	v := introspecting(iss, clk)
	iss.set(func(s *testIssuer) { s.active["pat_good"] = activeAnswer(iss, clk.Now(), "jti-o") })
	c := mustVerify(t, v, "pat_good")
	if c.Subject != "user-1" || c.JTI != "jti-o" || !c.HasScope("docs:read") || c.ClientID != "client-1" || len(c.Raw) == 0 {
		t.Errorf("claims: %+v", c)
	}
	clk.Advance(29 * time.Second)
	mustVerify(t, v, "pat_good")
	if n := iss.introspections.Load(); n != 1 {
		t.Errorf("within the cache period: %d introspections", n)
	}
	clk.Advance(2 * time.Second)
	mustVerify(t, v, "pat_good")
	if n := iss.introspections.Load(); n != 2 {
		t.Errorf("after the cache period: %d introspections", n)
	}

	// Revoked at the issuer: refused as soon as the cached answer ends, never cached inactive.
	iss.set(func(s *testIssuer) { delete(s.active, "pat_good") })
	clk.Advance(31 * time.Second)
	for range 2 {
		if _, err := v.Verify(t.Context(), "pat_good"); err == nil || !strings.Contains(err.Error(), descInactive) {
			t.Fatalf("revoked: %s", describe(err))
		}
	}
	if n := iss.introspections.Load(); n != 4 {
		t.Errorf("inactive answers must not be cached: %d introspections, want 4", n)
	}
}

func TestIntrospectionCacheEndsAtExpiry(t *testing.T) {
	iss := newIssuer(t)
	clk := newClock()
	v := introspecting(iss, clk)
	a := activeAnswer(iss, clk.Now(), "jti-short")
	a["exp"] = clk.Now().Add(10 * time.Second).Unix()
	iss.set(func(s *testIssuer) { s.active["pat_short"] = a })
	mustVerify(t, v, "pat_short")
	clk.Advance(11 * time.Second)
	mustVerify(t, v, "pat_short") // within the leeway, but asked again
	if n := iss.introspections.Load(); n != 2 {
		t.Errorf("cached beyond exp: %d introspections", n)
	}
}

func TestIntrospectionRefusals(t *testing.T) {
	iss := newIssuer(t)
	clk := newClock()
	v := introspecting(iss, clk)
	now := clk.Now()
	answers := map[string]func(jsonMap){
		"pat_other_api": func(a jsonMap) { a["aud"] = []string{"http://localhost:4200"} },
		"pat_refresh":   func(a jsonMap) { a["token_type"] = "refresh_token"; delete(a, "aud") },
		"pat_expired":   func(a jsonMap) { a["exp"] = now.Add(-time.Hour).Unix() },
		"pat_other_iss": func(a jsonMap) { a["iss"] = "http://evil.localhost:4000" },
	}
	want := map[string]string{"pat_other_api": descAudience, "pat_refresh": descInactive, "pat_expired": descExpired,
		"pat_other_iss": descIssuer, "pat_unknown": descInactive}
	iss.set(func(s *testIssuer) {
		for tok, edit := range answers {
			a := activeAnswer(iss, now, tok)
			edit(a)
			s.active[tok] = a
		}
	})
	for tok, desc := range want {
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), desc) {
			t.Errorf("%s: %s, want %q", tok, describe(err), desc)
		}
	}

	// Wrong client credentials: the issuer answers 401; the token is not judged.
	bad := iss.verifier(clk, func(c *Config) { c.Introspection = &Introspection{ClientID: "rs:api", ClientSecret: "wrong"} })
	if _, err := bad.Verify(t.Context(), "pat_other_api"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("bad credentials: %s", describe(err))
	}
}

// A burst of requests with one new token makes one introspection call; a revocation
// learnt from the watch ends a cached answer at once.
func TestIntrospectionSharesCallsAndHonoursTheDenyList(t *testing.T) {
	iss := newIssuer(t)
	clk := newClock()
	v := introspecting(iss, clk)
	iss.set(func(s *testIssuer) {
		s.active["pat_burst"] = activeAnswer(iss, clk.Now(), "jti-burst")
		s.introDelay = 50 * time.Millisecond
	})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { mustVerify(t, v, "pat_burst") })
	}
	wg.Wait()
	if n := iss.introspections.Load(); n != 1 {
		t.Errorf("burst: %d introspections", n)
	}
	v.denied.add("jti-burst", clk.Now().Add(time.Hour), clk.Now())
	if _, err := v.Verify(t.Context(), "pat_burst"); err == nil || !strings.Contains(err.Error(), descRevoked) {
		t.Errorf("revoked while cached: %s", describe(err))
	}
}

func TestIntrospectionCacheIsBounded(t *testing.T) {
	in := newIntrospector(Introspection{MaxCacheEntries: 3})
	now := time.Now()
	for i := range 10 {
		until := now.Add(time.Minute)
		if i%2 == 0 {
			until = now.Add(-time.Second)
		}
		in.store([32]byte{byte(i)}, cachedClaims{claims: &Claims{}, until: until}, now)
		if len(in.cache) > 3 {
			t.Fatalf("cache holds %d entries", len(in.cache))
		}
	}
	if _, ok := in.cache[[32]byte{9}]; !ok {
		t.Error("the newest entry was not kept")
	}
}
