package main_test

import (
	"net/url"
	"strconv"
	"testing"
)

// The token endpoint's limit (10 requests / 60 s per client IP by default) holds across
// instances: requests alternate between two instances and the eleventh is refused.
func TestTokenRateLimitAcrossInstances(t *testing.T) {
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
