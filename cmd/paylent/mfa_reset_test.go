package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// An environment that requires a second factor makes a user without one set it up right
// after the password, before any session (and before the app gets a code); an operator's
// reset through the Management API removes it, and the next sign-in asks for a new one.
func TestRequiredSecondFactorAndOperatorReset(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	app := s.client(t, s.acme, "--name", "App", "--type", "confidential", "--first-party", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	userID := s.userJSON(t, s.acme, "eve-target@example.com", "Target")
	issuer := s.a.issuer(s.acme)
	api := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:users admin:write")}
	if st, _, body := api.call("PATCH", "/settings", map[string]any{"require_second_factor": true}); st != http.StatusOK {
		t.Fatalf("settings: %d %v", st, body)
	}
	authorize := issuer + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ID},
		"redirect_uri": {"https://app.example.com/cb"}, "scope": {"openid"}, "state": {"x"}}.Encode()

	enrol := func() {
		t.Helper()
		pc := newPageClient(t, issuer)
		resp, page := signInWithPassword(t, pc, authorize, issuer)
		key, id := manualKey.FindStringSubmatch(page), factorID.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || key == nil || id == nil || !strings.Contains(page, `action="/login/enrol"`) ||
			hasCookie(pc, issuer, "paylent_session") {
			t.Fatalf("after the password, without a second factor: %d\n%s", resp.StatusCode, page)
		}
		f := fields(page)
		resp, page = pc.do("POST", issuer+"/login/enrol", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
			"factor_id": {id[1]}, "code": {totpAt(t, key[1], time.Now())}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "recovery-codes") || !hasCookie(pc, issuer, "paylent_session") {
			t.Fatalf("the first code: %d\n%s", resp.StatusCode, page)
		}
		f = fields(page)
		resp, _ = pc.do("POST", issuer+"/login/continue", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")}})
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "https://app.example.com/cb?code=") {
			t.Fatalf("back to the app: %d %q", resp.StatusCode, loc)
		}
	}
	enrol()

	st, _, body := api.call("GET", "/users/"+userID+"/factors", nil)
	list, _ := body["factors"].([]any)
	if st != http.StatusOK || len(list) != 1 {
		t.Fatalf("factors: %d %v", st, body)
	}
	f := list[0].(map[string]any)
	if f["kind"] != "totp" || f["status"] != "active" || f["recovery_codes_left"] != float64(10) || strings.Contains(strings.ToLower(
		strings.Join([]string{f["id"].(string)}, "")), "secret") {
		t.Errorf("factor %v", f)
	}
	if st, _, _ := api.call("DELETE", "/users/"+userID+"/factors/"+f["id"].(string), nil); st != http.StatusOK {
		t.Fatalf("reset: %d", st)
	}
	if st, _, body = api.call("GET", "/users/"+userID+"/factors", nil); st != http.StatusOK || len(body["factors"].([]any)) != 0 {
		t.Errorf("after the reset: %d %v", st, body)
	}
	if st, _, _ := api.call("DELETE", "/users/"+userID+"/factors/"+f["id"].(string), nil); st != http.StatusNotFound {
		t.Errorf("a second reset: %d", st)
	}
	if st, _, _ := api.call("GET", "/users/nobody-at-all/factors", nil); st != http.StatusNotFound {
		t.Errorf("an unknown user: %d", st)
	}
	enrol() // required again: a new authenticator

	// Turned off, a user with an authenticator still gives a code; one without signs in with
	// the password alone.
	if st, _, _ := api.call("PATCH", "/settings", map[string]any{"require_second_factor": false}); st != http.StatusOK {
		t.Fatal(st)
	}
	if _, page := signInWithPassword(t, newPageClient(t, issuer), authorize, issuer); !strings.Contains(page, `action="/login/code"`) {
		t.Errorf("a user with an authenticator, not required: %s", page)
	}
}

// The code forms have a per-IP budget (the login limit's numbers, 10 per 60 s by default)
// on top of the per-user lockout: the eleventh code from one address is 429, whoever it is
// for.
func TestSecondFactorCodesAreRateLimitedPerIP(t *testing.T) {
	t.Parallel()
	s := startOne(t, "PAYLENT_RATE_LIMITS=on")
	issuer := s.a.issuer(s.acme)
	pc := newPageClient(t, issuer)
	_, page := pc.do("GET", issuer+"/login", nil)
	limited := 0
	for i := 0; i < 12; i++ {
		resp, _ := pc.do("POST", issuer+"/login/code", url.Values{"_csrf": {fields(page).Get("_csrf")}, "code": {"123456"}})
		switch resp.StatusCode {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("code %d: %d", i, resp.StatusCode)
		}
	}
	if limited != 2 {
		t.Errorf("%d of 12 codes refused by the limit, want 2", limited)
	}
}
