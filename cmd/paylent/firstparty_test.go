package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A first-party (confidential) client's users sign in without a consent screen, unless the
// client asks with prompt=consent; a public client cannot be first-party.
func TestFirstPartySkipsConsent(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	own := s.client(t, s.acme, "--name", "Acme Portal", "--type", "confidential", "--grant", "authorization_code",
		"--redirect-uri", "https://portal.acme.example/cb", "--scope", "openid", "--first-party")
	s.userJSON(t, s.acme, "fay@example.com", "Fay")
	issuer := s.a.issuer(s.acme)
	pc := newPageClient(t, issuer)
	authorize := func(extra ...string) (*http.Response, string) {
		q := url.Values{"response_type": {"code"}, "client_id": {own.ID}, "redirect_uri": {"https://portal.acme.example/cb"},
			"scope": {"openid"}, "state": {"fp"}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return pc.do("GET", issuer+"/oauth/authorize?"+q.Encode(), nil)
	}
	_, page := authorize()
	f := fields(page)
	resp, page := pc.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"email": {"fay@example.com"}, "password": {"correct horse battery"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "https://portal.acme.example/cb?code=") {
		t.Fatalf("first-party sign-in asked for consent: %d %q\n%.300s", resp.StatusCode, loc, page)
	}
	if resp, page := authorize("prompt", "consent"); resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="approve"`) {
		t.Fatalf("prompt=consent shows no consent page: %d", resp.StatusCode)
	}
	code, _, errOut := cli(t, s.cliEnv, "clients", "create", "--env", s.acme, "--name", "CLI", "--type", "public",
		"--grant", "authorization_code", "--redirect-uri", "http://127.0.0.1/callback", "--first-party")
	if code == 0 || !strings.Contains(errOut, "first_party") {
		t.Fatalf("a public first-party client was registered: %d %s", code, errOut)
	}
}
