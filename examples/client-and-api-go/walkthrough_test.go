package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paylent/paylent/examples/internal/exampletest"
	"golang.org/x/oauth2"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

// The README's walkthrough, in a headless Chromium against the real `paylent serve`: register
// the API, its scopes and the client with the CLI; start the example; log in as the demo
// user and approve; the profile and documents pages show the API's data; "Create a
// document" shows the API's 403; an expired access token is refreshed (rotation); a key
// rotation needs no restart of the API; log out ends the grant and the Paylent session; a
// revoked JWT is refused within 100 ms by the API watching revocations, and accepted by one
// that does not.
func TestWalkthrough(t *testing.T) {
	start := time.Now()
	w := setUp(t)
	t.Logf("Paylent, example and browser ready in %s", time.Since(start).Round(time.Millisecond))
	for _, s := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"log in", w.logIn}, {"profile", w.profile}, {"documents", w.documents}, {"create refused", w.createRefused},
		{"refresh with rotation", w.refresh}, {"key rotation", w.keyRotation}, {"log out", w.logOut},
		{"revocation", w.revocation}, {"API for other clients", w.apiDirectly},
	} {
		if !t.Run(s.name, s.f) {
			t.FailNow() // every step builds on the previous one
		}
	}
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// walk is the walkthrough's state.
type walk struct {
	p         *exampletest.Paylent
	creds     exampletest.Credentials
	clientURL string
	apiID     string
	ex        *example
	unwatched string // the same API without revocation watch
	browser   context.Context
}

func setUp(t *testing.T) *walk {
	p := exampletest.Start(t)
	clientPort, apiPort := exampletest.FreePort(t), exampletest.FreePort(t)
	w := &walk{p: p, clientURL: fmt.Sprintf("http://localhost:%d", clientPort), apiID: fmt.Sprintf("http://localhost:%d", apiPort)}
	env := exampletest.Env
	p.CLI("apis", "create", "--env", env, "--identifier", w.apiID, "--name", "Documents API")
	p.CLI("scopes", "create", "--env", env, "--api", w.apiID, "--name", "read:documents", "--description", "Read documents")
	p.CLI("scopes", "create", "--env", env, "--api", w.apiID, "--name", "write:documents", "--description", "Create documents")
	w.creds = p.CreateClient("--name", "My Documents App", "--type", "confidential", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", w.clientURL+"/callback", "--post-logout-redirect-uri", w.clientURL+"/",
		"--scope", "openid", "--scope", "profile", "--scope", "read:documents")
	p.WaitScopes("read:documents", "write:documents")

	vars := map[string]string{"PAYLENT_ISSUER": p.Issuer(), "CLIENT_ID": w.creds.ID, "CLIENT_SECRET": w.creds.Secret,
		"CLIENT_ADDR": fmt.Sprintf("127.0.0.1:%d", clientPort), "API_ADDR": fmt.Sprintf("127.0.0.1:%d", apiPort),
		"API_IDENTIFIER": w.apiID, "NATS_URL": p.NATSURL(),
		"NATS_CREDS": p.NATSCreds()}
	cfg, err := loadConfig(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, filepath.Join(t.TempDir(), ".env"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientURL != w.clientURL || cfg.APIURL != w.apiID {
		t.Fatalf("derived URLs: %+v", cfg)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	if w.ex, err = start(t.Context(), cfg, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.ex.stop)
	if w.ex.api.watch == nil {
		t.Fatal("the API does not watch revocations")
	}
	// The same API where NATS cannot be reached: it says so and runs without the watch.
	off := cfg
	off.NATSURL = fmt.Sprintf("nats://127.0.0.1:%d", exampletest.FreePort(t))
	unwatched, err := newDocumentsAPI(t.Context(), off, newHTTPClient(), log.With("component", "unwatched-api"))
	if err != nil || unwatched.watch != nil {
		t.Fatalf("API without NATS: %v (watching: %t)", err, unwatched != nil && unwatched.watch != nil)
	}
	// Without the subscriber credential Paylent's NATS refuses the API: it says so, unwatched.
	anonymous := cfg
	anonymous.NATSCreds = ""
	if a, err := newDocumentsAPI(t.Context(), anonymous, newHTTPClient(), log.With("component", "anonymous-api")); err != nil || a.watch != nil {
		t.Fatalf("API without NATS_CREDS: %v (watching: %t)", err, a != nil && a.watch != nil)
	}
	srv := httptest.NewServer(unwatched.handler())
	t.Cleanup(srv.Close)
	w.unwatched = srv.URL
	w.browser = exampletest.Browser(t)
	return w
}

func (w *walk) logIn(t *testing.T) {
	ctx := w.browser
	exampletest.Do(t, ctx, chromedp.Navigate(w.clientURL), chromedp.WaitVisible(chromedp.CSS("#login")))
	if h1, button := exampletest.Text(ctx, "h1"), exampletest.Text(ctx, "#login"); h1 != "Third-Party Documents App" || button != "Log in with Paylent" {
		t.Errorf("home page: %q, %q", h1, button)
	}
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#login")))
	exampletest.SignIn(t, ctx, "demo@example.com", w.p.DemoPassword)
	exampletest.Do(t, ctx, chromedp.WaitVisible(chromedp.CSS("button[value=approve]")))
	consent := exampletest.Text(ctx, "main")
	for _, want := range []string{"My Documents App", "Read documents"} {
		if !strings.Contains(consent, want) {
			t.Errorf("consent page lacks %q:\n%s", want, consent)
		}
	}
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("button[value=approve]")), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	if got := exampletest.Text(ctx, "#signed-in"); !strings.Contains(got, "Demo User") {
		t.Errorf("signed in as %q", got)
	}
	s := w.session(t)
	tok := s.current()
	s.mu.Lock()
	hasIDToken := s.idToken != ""
	s.mu.Unlock()
	if tok.Extra("scope") != "openid profile read:documents" || tok.RefreshToken == "" || !hasIDToken {
		t.Errorf("tokens: scope %v, refresh token %t, ID token %t", tok.Extra("scope"), tok.RefreshToken != "", hasIDToken)
	}
	// The browser holds a session id it cannot read from scripts, and no token anywhere.
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.cookie"))
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil || cookies != "" || strings.Contains(html, tok.AccessToken) || strings.Contains(html, tok.RefreshToken) {
		t.Errorf("the browser sees document.cookie %q (%v), or a token in the page", cookies, err)
	}
}

func (w *walk) profile(t *testing.T) {
	ctx := w.browser
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#profile-link")), chromedp.WaitVisible(chromedp.CSS("#api-profile")))
	s := w.session(t)
	if got := exampletest.Text(ctx, "#api-subject"); got != s.signedIn().Subject {
		t.Errorf("subject %q, want %q", got, s.signedIn().Subject)
	}
	if got := exampletest.Text(ctx, "#api-client"); got != w.creds.ID {
		t.Errorf("client %q", got)
	}
	if got := exampletest.Text(ctx, "#api-scopes"); got != "openid profile read:documents" {
		t.Errorf("scopes %q", got)
	}
	if got := exampletest.Text(ctx, "#api-audience"); got != w.apiID {
		t.Errorf("audience %q, want %q", got, w.apiID)
	}
	if got := exampletest.Text(ctx, "#id-token-profile"); !strings.Contains(got, "Demo User") {
		t.Errorf("ID token profile %q", got)
	}
}

func (w *walk) documents(t *testing.T) {
	ctx := w.browser
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#documents-link")), chromedp.WaitVisible(chromedp.CSS("#documents")))
	if got := exampletest.Text(ctx, "#documents"); !strings.Contains(got, "Welcome to the Documents API") {
		t.Errorf("documents: %q", got)
	}
}

func (w *walk) createRefused(t *testing.T) {
	ctx := w.browser
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#new-document-link")), chromedp.WaitVisible(chromedp.CSS("#create")),
		chromedp.Click(chromedp.CSS("#create")), chromedp.WaitVisible(chromedp.CSS("#api-error")))
	if got := exampletest.Text(ctx, "#api-status"); got != "403 Forbidden" {
		t.Errorf("status %q", got)
	}
	if got := exampletest.Text(ctx, "#api-error-code"); got != "insufficient_scope" {
		t.Errorf("error %q", got)
	}
	challenge := exampletest.Text(ctx, "#api-challenge")
	if !strings.HasPrefix(challenge, "Bearer ") || !strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="write:documents"`) {
		t.Errorf("WWW-Authenticate %q", challenge)
	}
}

// An expired access token is refreshed before the API call, and the rotated refresh token
// replaces the old one in the session.
func (w *walk) refresh(t *testing.T) {
	s := w.session(t)
	before := s.expire()
	exampletest.Do(t, w.browser, chromedp.Click(chromedp.CSS("#documents-link")), chromedp.WaitVisible(chromedp.CSS("#documents")))
	after := s.current()
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken || after.RefreshToken == "" || !after.Valid() {
		t.Errorf("not refreshed with rotation: new access token %t, new refresh token %t, valid %t",
			after.AccessToken != before.AccessToken, after.RefreshToken != before.RefreshToken, after.Valid())
	}
}

// After `paylent keys rotate`, tokens of the old key still pass and new ones carry the new
// kid, with the same running API.
func (w *walk) keyRotation(t *testing.T) {
	s := w.session(t)
	old := s.current().AccessToken
	var rotated struct{ Primary string }
	if err := json.Unmarshal([]byte(w.p.CLI("keys", "rotate", "--env", exampletest.Env, "--json")), &rotated); err != nil || rotated.Primary == "" {
		t.Fatalf("keys rotate: %v", err)
	}
	if kid(old) == rotated.Primary {
		t.Fatal("the old token already carries the new kid")
	}
	var fresh string
	exampletest.Eventually(t, 10*time.Second, "a token signed with the new key", func() bool {
		s.expire()
		var err error
		if fresh, err = w.ex.client.accessToken(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		return kid(fresh) == rotated.Primary
	})
	for _, tok := range []string{old, fresh} {
		if code, _ := w.call(t, w.clientAPI(), tok); code != http.StatusOK {
			t.Errorf("token of key %s: %d", kid(tok), code)
		}
	}
	exampletest.Do(t, w.browser, chromedp.Click(chromedp.CSS("#profile-link")), chromedp.WaitVisible(chromedp.CSS("#api-profile")))
}

// Log out revokes the refresh token (the grant) and ends the Paylent session: the next login
// asks for the password again.
func (w *walk) logOut(t *testing.T) {
	ctx := w.browser
	tok := w.session(t).current()
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != w.clientURL+"/" {
		t.Errorf("after logout at %s", loc)
	}
	w.ex.client.sessions.each(func(s *session) { t.Errorf("a session is left: %+v", s.signedIn()) })
	code, body := w.p.Post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, w.creds)
	if code != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh token after logout: %d %v", code, body)
	}
	exampletest.Eventually(t, 2*time.Second, "the API refuses the access token of the ended grant", func() bool {
		code, _ := w.call(t, w.clientAPI(), tok.AccessToken)
		return code == http.StatusUnauthorized
	})
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#login")))
	exampletest.SignIn(t, ctx, "demo@example.com", w.p.DemoPassword) // asked again: the Paylent session ended
	exampletest.Do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#signed-in")))
}

// A JWT the API accepts is refused within 100 ms of the revocation of its grant by the API
// that watches revocations; one that does not keeps accepting it until it expires. The app
// shows the refusal, and once the access token expires, ends the session.
func (w *walk) revocation(t *testing.T) {
	tok := w.session(t).current()
	for _, api := range []string{w.clientAPI(), w.unwatched} {
		if code, _ := w.call(t, api, tok.AccessToken); code != http.StatusOK {
			t.Fatalf("%s refuses a fresh token: %d", api, code)
		}
	}
	code, _ := w.p.Post("/oauth/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, w.creds)
	if code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	revoked := time.Now()
	for {
		code, challenge := w.call(t, w.clientAPI(), tok.AccessToken)
		if code == http.StatusUnauthorized {
			if !strings.Contains(challenge, "revoked") {
				t.Errorf("refused with %q", challenge)
			}
			t.Logf("refused %s after the revocation answered", time.Since(revoked).Round(time.Microsecond))
			break
		}
		if time.Since(revoked) > 100*time.Millisecond {
			t.Fatalf("the revoked token is still accepted after %s", time.Since(revoked))
		}
		time.Sleep(time.Millisecond)
	}
	if code, _ := w.call(t, w.unwatched, tok.AccessToken); code != http.StatusOK {
		t.Errorf("without the watch, a revoked JWT is accepted until it expires; got %d", code)
	}
	// The app shows the API's refusal.
	exampletest.Do(t, w.browser, chromedp.Click(chromedp.CSS("#documents-link")), chromedp.WaitVisible(chromedp.CSS("#api-error")))
	if got := exampletest.Text(w.browser, "#api-error-code"); got != "invalid_token" {
		t.Errorf("app shows %q", got)
	}
	// When the access token expires, the revoked refresh token cannot renew it: the app ends
	// the session and says so.
	w.session(t).expire()
	exampletest.Do(t, w.browser, chromedp.Click(chromedp.CSS("#documents-link")), chromedp.WaitVisible(chromedp.CSS("#notice")),
		chromedp.WaitVisible(chromedp.CSS("#login")))
	w.ex.client.sessions.each(func(s *session) { t.Errorf("a session is left: %+v", s.signedIn()) })
}

// The API's RFC 6750 answers, and a client allowed write:documents creating one.
func (w *walk) apiDirectly(t *testing.T) {
	if code, challenge := w.call(t, w.clientAPI(), ""); code != http.StatusUnauthorized || challenge != `Bearer realm="`+w.apiID+`"` {
		t.Errorf("no token: %d %q", code, challenge)
	}
	importer := w.p.CreateClient("--name", "Importer", "--type", "confidential", "--grant", "client_credentials",
		"--scope", "read:documents", "--scope", "write:documents")
	code, body := w.p.Post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"read:documents write:documents"}}, importer)
	tok, _ := body["access_token"].(string)
	if code != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %v", code, body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, w.clientAPI()+"/api/documents",
		strings.NewReader(`{"title":"Imported","body":"from a backend"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := exampletest.LoopbackClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var d document
	err = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || d.Title != "Imported" || d.CreatedBy != importer.ID {
		t.Errorf("create: %d %+v %v", resp.StatusCode, d, err)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodDelete, w.clientAPI()+"/api/documents", nil)
	if resp, err := exampletest.LoopbackClient().Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func (w *walk) clientAPI() string { return w.ex.client.cfg.APIURL }

// call sends GET /api/documents to an API with a token and returns the status and the
// WWW-Authenticate challenge.
func (w *walk) call(t *testing.T, api, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api+"/api/documents", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := exampletest.LoopbackClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// session is the one signed-in session of the app.
func (w *walk) session(t *testing.T) *session {
	t.Helper()
	var found []*session
	w.ex.client.sessions.each(func(s *session) {
		if s.signedIn() != nil {
			found = append(found, s)
		}
	})
	if len(found) != 1 {
		t.Fatalf("%d signed-in sessions, want 1", len(found))
	}
	return found[0]
}

// kid is a JWT's kid ("" for anything else).
func kid(tok string) string {
	h, _, ok := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	if !ok || err != nil || json.Unmarshal(raw, &hdr) != nil {
		return ""
	}
	return hdr.Kid
}

// current is a copy of the session's tokens.
func (s *session) current() oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == nil {
		return oauth2.Token{}
	}
	return *s.token
}

// expire makes the session's access token expired, as if its hour had passed, and returns
// the tokens as they were.
func (s *session) expire() oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	before, expired := *s.token, *s.token
	expired.Expiry = time.Now().Add(-time.Minute)
	s.token = &expired
	return before
}
