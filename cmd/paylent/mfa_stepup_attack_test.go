package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A request that asks for the mfa class (acr_values, or acr as an essential claim) gets no
// code for a password-only session by another door than authorize: not by POST
// /login/continue with the request's sealed form after a password sign-in without it, and
// not by POST /consent with a consent form that another (multi-factor) sign-in was shown.
// OIDC Core §5.5.1.1: an essential acr that cannot be met is a failed authentication.
func TestMFARequestNotSatisfiedByAPasswordSession(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	cl := s.client(t, s.acme, "--name", "App", "--type", "confidential", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	s.userJSON(t, s.acme, "pwd-only@example.com", "Password only")
	s.userJSON(t, s.acme, "mallory@example.com", "Mallory")
	issuer := s.a.issuer(s.acme)
	authorize := issuer + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {cl.ID},
		"redirect_uri": {"https://app.example.com/cb"}, "scope": {"openid"}, "state": {"x"},
		"claims": {`{"id_token":{"acr":{"essential":true,"value":"urn:paylent:acr:mfa"}}}`}}.Encode()
	var page string
	codeFor := func(what string, resp *http.Response) {
		t.Helper()
		if loc := resp.Header.Get("Location"); strings.Contains(loc, "code=") {
			t.Errorf("%s: a code for a password-only session: %q", what, loc)
		}
	}

	// /login/continue: the request's login form, then a password sign-in without it.
	pc := newPageClient(t, issuer)
	_, page = pc.do("GET", authorize, nil)
	flow := fields(page).Get("flow")
	if flow == "" {
		t.Fatalf("login page: %s", page)
	}
	pc.do("POST", issuer+"/login", url.Values{"_csrf": {fields(page).Get("_csrf")}, "email": {"pwd-only@example.com"},
		"password": {"correct horse battery"}})
	resp, page := pc.do("POST", issuer+"/login/continue", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {flow}})
	codeFor("continue", resp)
	if strings.Contains(page, `value="approve"`) {
		resp, _ = pc.do("POST", issuer+"/consent", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {fields(page).Get("flow")},
			"decision": {"approve"}})
		codeFor("continue, then consent", resp)
	}

	// /consent: Mallory signs in with an authenticator app and is shown the consent form.
	mallory := passwordSession(t, issuer, "mallory@example.com")
	_, page = mallory.do("GET", issuer+"/account/security", nil)
	_, page = mallory.do("POST", issuer+"/account/totp", url.Values{"_csrf": {fields(page).Get("_csrf")}})
	key, id := manualKey.FindStringSubmatch(page), factorID.FindStringSubmatch(page)
	if key == nil || id == nil {
		t.Fatalf("enrol page: %s", page)
	}
	mallory.do("POST", issuer+"/account/totp/confirm", url.Values{"_csrf": {fields(page).Get("_csrf")},
		"factor_id": {id[1]}, "code": {totpAt(t, key[1], time.Now())}})
	_, page = mallory.do("GET", authorize, nil)
	_, page = mallory.do("POST", issuer+"/login", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {fields(page).Get("flow")},
		"email": {"mallory@example.com"}, "password": {"correct horse battery"}})
	_, page = mallory.do("POST", issuer+"/login/code", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {fields(page).Get("flow")},
		"code": {totpAt(t, key[1], time.Now().Add(30*time.Second))}})
	consentFlow := fields(page).Get("flow")
	if !strings.Contains(page, `value="approve"`) || consentFlow == "" {
		t.Fatalf("consent page: %s", page)
	}
	_, page = pc.do("GET", issuer+"/account/security", nil)
	resp, _ = pc.do("POST", issuer+"/consent", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {consentFlow},
		"decision": {"approve"}})
	codeFor("consent", resp)
}
