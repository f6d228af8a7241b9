package main_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// jwtPayload decodes a JWT's claims (the ID token came straight from the token endpoint).
func jwtPayload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	var m map[string]any
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// login_hint prefills the email; acr_values=urn:paylent:acr:mfa makes a password-only
// session sign in again and a user without an authenticator set one up (step-up), after
// which the ID token says mfa and the next such request needs no page; prompt=none cannot
// step up; the claims parameter releases email without the email scope and refuses
// malformed JSON.
func TestStepUpLoginHintAndClaims(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	app := s.client(t, s.acme, "--name", "App", "--type", "confidential", "--first-party", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid", "--scope", "email")
	s.userJSON(t, s.acme, "eve-target@example.com", "Target")
	issuer := s.a.issuer(s.acme)
	authorize := func(extra ...string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {app.ID}, "redirect_uri": {"https://app.example.com/cb"},
			"scope": {"openid"}, "state": {"x"}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return issuer + "/oauth/authorize?" + q.Encode()
	}
	idToken := func(resp *http.Response) map[string]any {
		t.Helper()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("code") == "" {
			t.Fatalf("no code: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		st, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {"https://app.example.com/cb"}}, app.ID, app.Secret)
		if st != http.StatusOK {
			t.Fatalf("token: %d %v", st, body)
		}
		return jwtPayload(t, body["id_token"].(string))
	}

	pc := newPageClient(t, issuer)
	if _, page := pc.do("GET", authorize("login_hint", "eve-target@example.com"), nil); !strings.Contains(page, `value="eve-target@example.com"`) {
		t.Errorf("login_hint: %s", page)
	}
	resp, _ := signInWithPassword(t, pc, authorize("claims", `{"id_token":{"email":{"essential":true},"birthdate":null}}`), issuer)
	claims := idToken(resp)
	if claims["acr"] != "urn:paylent:acr:pwd" || claims["email"] != "eve-target@example.com" {
		t.Errorf("a password, with email asked in claims: %v", claims)
	}
	if resp, _ = pc.do("GET", authorize("claims", `{"id_token":`), nil); !strings.Contains(resp.Header.Get("Location"), "error=invalid_request") {
		t.Errorf("malformed claims: %q", resp.Header.Get("Location"))
	}
	mfa := "urn:paylent:acr:mfa"
	if resp, _ = pc.do("GET", authorize("acr_values", mfa, "prompt", "none"), nil); !strings.Contains(resp.Header.Get("Location"), "error=login_required") {
		t.Errorf("prompt=none, step-up needed: %q", resp.Header.Get("Location"))
	}
	resp, page := signInWithPassword(t, pc, authorize("acr_values", mfa), issuer)
	key, id := manualKey.FindStringSubmatch(page), factorID.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || key == nil || id == nil {
		t.Fatalf("step-up without an authenticator: %d\n%s", resp.StatusCode, page)
	}
	f := fields(page)
	_, page = pc.do("POST", issuer+"/login/enrol", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"factor_id": {id[1]}, "code": {totpAt(t, key[1], time.Now())}})
	f = fields(page)
	resp, _ = pc.do("POST", issuer+"/login/continue", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")}})
	if claims = idToken(resp); claims["acr"] != mfa || !strings.Contains(strings.Join(strs(claims["amr"]), " "), "otp") {
		t.Errorf("after the step-up: %v", claims)
	}
	resp, _ = pc.do("GET", authorize("acr_values", mfa, "prompt", "none"), nil)
	if claims = idToken(resp); claims["acr"] != mfa {
		t.Errorf("an mfa session, asked again: %v", claims)
	}
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
