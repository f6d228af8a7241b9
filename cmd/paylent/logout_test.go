package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain/authcode"
)

// An id_token_hint ends the browser's session at once only when it is an ID token of the
// user signed in there: the attacker's own ID token, or an access token, on a link to the
// logout endpoint only asks the victim to confirm, and the victim stays signed in.
func TestLogoutHintMustNameTheSignedInUser(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	const cb = "https://app.example.com/cb"
	web := s.client(t, s.acme, "--name", "Web", "--type", "confidential", "--grant", "authorization_code",
		"--redirect-uri", cb, "--scope", "openid")
	s.userJSON(t, s.acme, "sam@example.com", "Sam")
	mallory := s.userJSON(t, s.acme, "mallory@example.com", "Mallory")
	issuer := s.a.issuer(s.acme)
	exchange := func(code string, p pkce) map[string]any {
		t.Helper()
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}}
		if p.verifier != "" {
			form.Set("code_verifier", p.verifier)
		}
		st, body := s.a.post(s.acme, "/oauth/token", form, web.ID, web.Secret)
		if st != 200 {
			t.Fatalf("token exchange: %d %v", st, body)
		}
		return body
	}

	// Sam signs in in a browser.
	victim := newPageClient(t, issuer)
	p := newPKCE()
	resp, page := victim.do("GET", authorizeURL(s, web.ID, cb, "openid", "st", p), nil)
	f := fields(page)
	resp, page = victim.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"email": {"sam@example.com"}, "password": {"correct horse battery"}})
	if resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`) {
		f = fields(page)
		resp, _ = victim.do("POST", issuer+"/consent", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")}, "decision": {"approve"}})
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("sign-in did not return a code: %d %v", resp.StatusCode, resp.Header)
	}
	sams := exchange(loc.Query().Get("code"), p)
	stillSignedIn := func() bool {
		resp, _ := victim.do("GET", authorizeURL(s, web.ID, cb, "openid", "again", newPKCE(), "prompt", "none"), nil)
		l, _ := url.Parse(resp.Header.Get("Location"))
		return l != nil && l.Query().Get("code") != ""
	}

	// Mallory's own ID token, and Sam's access token, on a link: a confirmation page only.
	ci := newCodeIssuer(t, s, time.Now)
	code := ci.issue(t, s.acme, authcode.Issued{ClientID: web.ID, RedirectURI: cb, RedirectGiven: true, Scope: "openid", UserID: mallory})
	malloryID := exchange(code, pkce{})["id_token"].(string)
	for name, hint := range map[string]string{"another user's ID token": malloryID, "an access token": sams["access_token"].(string)} {
		resp, page := victim.do("GET", issuer+"/oauth/logout?"+url.Values{"id_token_hint": {hint}}.Encode(), nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="confirm"`) || strings.Contains(page, "You are signed out") {
			t.Errorf("%s as the hint: %d, not a confirmation page", name, resp.StatusCode)
		}
		if !stillSignedIn() {
			t.Fatalf("%s as the hint signed Sam out", name)
		}
	}
	// Sam's own ID token ends Sam's session at once.
	resp, page = victim.do("GET", issuer+"/oauth/logout?"+url.Values{"id_token_hint": {sams["id_token"].(string)}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "You are signed out") {
		t.Errorf("Sam's own hint: %d", resp.StatusCode)
	}
	if stillSignedIn() {
		t.Error("Sam's own hint did not end the session")
	}
}
