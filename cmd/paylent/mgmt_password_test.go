package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain/authcode"
)

// POST /api/v1/users/{id}/password: admin:users only; the policy's refusal is
// invalid_request with its words; another environment's user is 404; a generated password
// is answered once and signs in, ends the user's refresh token and access token, and is in
// no log line, no event and no URL.
func TestManagementAPIResetsPassword(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	web := s.client(t, s.acme, "--name", "Web", "--type", "confidential", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	userID := s.userJSON(t, s.acme, "bob@example.com", "Bob")
	code := newCodeIssuer(t, s, time.Now).issue(t, s.acme, authcode.Issued{ClientID: web.ID,
		RedirectURI: "https://app.example.com/cb", RedirectGiven: true, Scope: "openid", UserID: userID})
	st, tokens := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://app.example.com/cb"}}, web.ID, web.Secret)
	if st != 200 || tokens["refresh_token"] == nil {
		t.Fatalf("token: %d %v", st, tokens)
	}
	api := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:users")}
	path := "/users/" + userID + "/password"

	narrow := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:read admin:write")}
	if st, _, body := narrow.call("POST", path, map[string]any{"generate": true}); st != http.StatusForbidden ||
		body["error"] != "insufficient_scope" || body["password"] != nil {
		t.Errorf("without admin:users: %d %v", st, body)
	}
	other := &mgmtClient{t: t, inst: s.a, env: s.other, token: s.mgmtToken(t, s.other, "admin:users")}
	if st, _, body := other.call("POST", path, map[string]any{"generate": true}); st != http.StatusNotFound || body["password"] != nil {
		t.Errorf("another environment's user: %d %v", st, body)
	}
	for _, c := range []struct {
		body any
		want string
	}{
		{map[string]any{"password": "password123"}, "is one of the most common passwords"},
		{map[string]any{"password": "short"}, "must be at least 10 characters"},
		{map[string]any{"password": "a chosen passphrase", "generate": true}, "not both"},
		{map[string]any{}, "is required"},
		{map[string]any{"password": ""}, "must not be empty"},
		{`{"password": 5}`, "wrong type"},
	} {
		if st, _, body := api.call("POST", path, c.body); st != http.StatusBadRequest || body["error"] != "invalid_request" ||
			!strings.Contains(body["message"].(string), c.want) {
			t.Errorf("%v: %d %v", c.body, st, body)
		}
	}
	if st, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tokens["refresh_token"].(string)}}, web.ID, web.Secret); st != 200 {
		t.Fatalf("a refused reset ended the refresh token: %d %v", st, body)
	} else {
		tokens = body
	}

	st, hdr, body := api.call("POST", path, map[string]any{"generate": true})
	generated, _ := body["password"].(string)
	revoked, _ := body["revoked"].(map[string]any)
	if st != http.StatusOK || body["user_id"] != userID || body["email"] != "bob@example.com" || len(generated) < 16 ||
		hdr.Get("Paylent-Position") == "" || hdr.Get("Cache-Control") != "no-store" || revoked["grants"] != float64(1) {
		t.Fatalf("reset: %d %v %v", st, hdr, body)
	}
	if st, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tokens["refresh_token"].(string)}}, web.ID, web.Secret); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the refresh token after the reset: %d %v", st, body)
	}
	if st, body := s.a.post(s.acme, "/oauth/introspect", url.Values{"token": {tokens["access_token"].(string)}}, web.ID, web.Secret); st != 200 || body["active"] != false {
		t.Errorf("the access token after the reset: %d %v", st, body)
	}
	issuer := s.a.issuer(s.acme)
	signIn := func(password string) bool {
		pc := newPageClient(t, issuer)
		_, page := pc.do("GET", issuer+"/login", nil)
		resp, page := pc.do("POST", issuer+"/login", url.Values{"_csrf": {fields(page).Get("_csrf")}, "email": {"bob@example.com"},
			"password": {password}})
		return resp.StatusCode == 200 && strings.Contains(page, "You are signed in")
	}
	if signIn("correct horse battery") || !signIn(generated) {
		t.Error("after the reset, the old password signs in or the generated one does not")
	}
	if st, _, body := api.call("POST", path, map[string]any{"password": "a chosen passphrase"}); st != http.StatusOK || body["password"] != nil {
		t.Errorf("a chosen password: %d %v", st, body)
	}
	if !signIn("a chosen passphrase") {
		t.Error("the chosen password does not sign in")
	}
	events := s.run(t, "events", "--env", s.acme)
	if !strings.Contains(events, "user.password_changed") {
		t.Fatalf("no user.password_changed in the events")
	}
	for where, text := range map[string]string{"the server's log": s.a.output(), "the events": events} {
		if strings.Contains(text, generated) || strings.Contains(text, "a chosen passphrase") {
			t.Errorf("a password is in %s", where)
		}
	}
}
