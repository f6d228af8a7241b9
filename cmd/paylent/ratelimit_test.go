package main_test

import (
	"net/url"
	"strconv"
	"testing"
)

// The token endpoint's limit (10 requests / 60 s per client IP by default) holds across
// instances: requests alternate between two instances and the eleventh is refused.
func TestTokenRateLimitAcrossInstances(t *testing.T) {
	t.Parallel()
	s := startStack(t, "PAYLENT_RATE_LIMITS=on")
	cl := s.client(t, "acme-test", "--name", "Backend", "--type", "confidential", "--grant", "client_credentials")
	allowed := 0
	for i := 0; i < 14; i++ {
		inst := []*instance{s.a, s.b}[i%2]
		code, hdr, body := inst.postRawAuth("acme-test", "/oauth/token", "application/x-www-form-urlencoded",
			url.Values{"grant_type": {"client_credentials"}}.Encode(), basicAuth(cl.ID, cl.Secret))
		switch code {
		case 200:
			allowed++
		case 429:
			retry, err := strconv.Atoi(hdr.Get("Retry-After"))
			if err != nil || retry < 1 || retry > 60 || hdr.Get("RateLimit-Limit") != "10" || hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("429 headers: %v", hdr)
			}
			if string(body) == "" || !jsonHas(body, "error", "slow_down") {
				t.Errorf("429 body %s", body)
			}
		default:
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	if allowed != 10 {
		t.Errorf("%d of 14 requests allowed across two instances, want exactly 10", allowed)
	}
	// Other environments have their own budget.
	other := s.client(t, "other-env", "--name", "Other", "--type", "confidential", "--grant", "client_credentials")
	if code, _ := s.a.post("other-env", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, other.ID, other.Secret); code != 200 {
		t.Errorf("other-env shares acme-test's budget: %d", code)
	}
}

// The Management API's limit is per calling client, shared across instances, and set per
// environment.
func TestManagementRateLimit(t *testing.T) {
	t.Parallel()
	s := startStack(t, "PAYLENT_RATE_LIMITS=on")
	token := s.mgmtToken(t, "acme-test", "admin:read admin:write")
	a := &mgmtClient{t: t, inst: s.a, env: "acme-test", token: token}
	b := &mgmtClient{t: t, inst: s.b, env: "acme-test", token: token}
	limits := map[string]any{"token": map[string]int{"requests": 10, "window_seconds": 60},
		"login": map[string]int{"requests": 10, "window_seconds": 60}, "management": map[string]int{"requests": 5, "window_seconds": 60}}
	st, _, body := a.call("PATCH", "/settings", map[string]any{"rate_limits": limits})
	if st != 200 {
		t.Fatalf("settings: %d %v", st, body)
	}
	pos := body["position"].(float64)
	allowed := 0
	for i := 0; i < 8; i++ {
		c := []*mgmtClient{a, b}[i%2]
		st, hdr, _ := c.call("GET", "/clients?min_position="+strconv.Itoa(int(pos)), nil)
		switch st {
		case 200:
			allowed++
		case 429:
			if hdr.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		default:
			t.Fatalf("request %d: %d", i, st)
		}
	}
	// The PATCH itself counted against the old limit of 100; after it, 5 per minute.
	if allowed != 4 {
		t.Errorf("%d of 8 requests allowed after lowering the limit to 5 (one spent on the change)", allowed)
	}
}
