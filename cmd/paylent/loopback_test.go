package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A native app registers http://127.0.0.1/callback and listens on whatever port the system
// gives it (RFC 8252 §7.3): any port is accepted at authorize, the code goes to that port,
// and the token request must name the same URI, port included.
func TestLoopbackRedirectAnyPort(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	cli := s.client(t, s.acme, "--name", "Desktop App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", "http://127.0.0.1/callback", "--scope", "openid")
	s.userJSON(t, s.acme, "nat@example.com", "Nat")
	issuer := s.a.issuer(s.acme)
	given := "http://127.0.0.1:53117/callback"
	p := newPKCE()
	var pc *pageClient
	authorize := func(redirect string) (*pageClient, *http.Response, string) {
		if pc == nil {
			pc = newPageClient(t, issuer)
		}
		resp, page := pc.do("GET", issuer+"/oauth/authorize?"+url.Values{"response_type": {"code"}, "client_id": {cli.ID},
			"redirect_uri": {redirect}, "scope": {"openid"}, "state": {"n"}, "code_challenge": {p.challenge},
			"code_challenge_method": {"S256"}}.Encode(), nil)
		return pc, resp, page
	}
	for _, bad := range []string{"http://127.0.0.1:53117/other", "http://localhost:53117/callback", "http://127.0.0.2:53117/callback"} {
		pc = nil
		if _, resp, _ := authorize(bad); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d %q", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	pc = nil
	_, resp, page := authorize(given)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
		t.Fatalf("authorize with an ephemeral port: %d", resp.StatusCode)
	}
	f := fields(page)
	_, page = pc.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"email": {"nat@example.com"}, "password": {"correct horse battery"}})
	f = fields(page)
	resp, _ = pc.do("POST", issuer+"/consent", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")}, "decision": {"approve"}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || !strings.HasPrefix(loc.String(), given+"?") || loc.Query().Get("code") == "" {
		t.Fatalf("the code did not go to the port given: %d %v", resp.StatusCode, resp.Header)
	}
	exchange := func(code, redirect string) (int, map[string]any) {
		return s.b.post(s.acme, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {cli.ID},
			"code": {code}, "redirect_uri": {redirect}, "code_verifier": {p.verifier}}, "", "")
	}
	if st, body := exchange(loc.Query().Get("code"), "http://127.0.0.1:53118/callback"); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("another port at the token endpoint: %d %v", st, body)
	}
	// Signed in, consent remembered: straight back with a code, redeemed with the same URI.
	_, resp, _ = authorize(given)
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if st, body := exchange(loc.Query().Get("code"), given); st != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("redeeming with the port given: %d %v", st, body)
	}
}
