package main_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"
)

// totpAt is what an authenticator app shows at t for a manual key as the page shows it
// (groups of four).
func totpAt(t *testing.T, key string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(strings.ReplaceAll(key, " ", ""), at,
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// wrongCode is a six-digit code that is not the current one.
func wrongCode(t *testing.T, key string) string {
	for _, c := range []string{"000000", "111111", "222222"} {
		if c != totpAt(t, key, time.Now()) && c != totpAt(t, key, time.Now().Add(30*time.Second)) &&
			c != totpAt(t, key, time.Now().Add(-30*time.Second)) {
			return c
		}
	}
	t.Fatal("no wrong code")
	return ""
}

// idTokenClaims redeems a code as a third-party client would (golang.org/x/oauth2) and
// verifies the ID token with github.com/coreos/go-oidc/v3.
func idTokenClaims(t *testing.T, s *stack, clientID, redirect, code, verifier string) (amr []string, acr string) {
	t.Helper()
	ctx := oidc.ClientContext(context.WithValue(t.Context(), oauth2.HTTPClient, loopback), loopback)
	provider, err := oidc.NewProvider(ctx, s.a.issuer(s.acme))
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: clientID, Endpoint: provider.Endpoint(), RedirectURL: redirect, Scopes: []string{"openid"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims.AMR, claims.ACR
}

func wantMFA(t *testing.T, what string, amr []string, acr string) {
	t.Helper()
	if !slices.Contains(amr, "pwd") || !slices.Contains(amr, "otp") || !slices.Contains(amr, "mfa") || acr != "urn:paylent:acr:mfa" {
		t.Errorf("%s: amr %v acr %q", what, amr, acr)
	}
}

// A person sets up an authenticator app on the security page (QR code and manual key, a
// first code, ten recovery codes shown once), then signs in to a third-party app with the
// password and a code: the ID token says amr [pwd otp mfa] and the mfa acr. A replayed code
// and a used recovery code are refused; no seed or recovery code reaches an event or a log.
func TestAuthenticatorAppInTheBrowser(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	cb := newCallbackServer(t)
	docs := s.client(t, s.acme, "--name", "Documents App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", cb.url, "--scope", "openid", "--scope", "email")
	s.userJSON(t, s.acme, "ada@example.com", "Ada")
	ctx := browser(t)
	sh := &shooter{t: t, ctx: ctx, dir: artifacts(t, "mfa")}
	issuer := s.a.issuer(s.acme)

	run(t, ctx, chromedp.Navigate(issuer+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#security")),
		chromedp.Click(chromedp.CSS("#security")), chromedp.WaitVisible(chromedp.CSS("#enrol")),
		chromedp.Click(chromedp.CSS("#enrol")), chromedp.WaitVisible(chromedp.CSS("#manual-key")))
	sh.shot("totp-enrol")
	key := text(ctx, "#manual-key")
	if len(strings.ReplaceAll(key, " ", "")) != 32 {
		t.Fatalf("manual key %q", key)
	}
	if src := eval[string](t, ctx, `document.querySelector("#qr").src`); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Errorf("QR code %.40s", src)
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), wrongCode(t, key)), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#code-error")))
	if text(ctx, "#manual-key") != key {
		t.Error("a wrong first code changed the key")
	}
	first := totpAt(t, key, time.Now())
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), first), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))
	sh.shot("recovery-codes")
	codes := eval[[]string](t, ctx, `[...document.querySelectorAll("#recovery-codes code")].map(c => c.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("recovery codes %v", codes)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("#continue")), chromedp.WaitVisible(chromedp.CSS("#totp-status")))
	if st := text(ctx, "#totp-status"); !strings.Contains(st, "10 recovery codes left") {
		t.Errorf("security page: %q", st)
	}

	signIn := func(state string, p pkce) {
		run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid email", state, p, "prompt", "login")),
			chromedp.WaitVisible(chromedp.CSS("#password")), chromedp.SetValue(chromedp.CSS("#email"), "ada@example.com"),
			chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"), chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("#code")))
	}
	submitCode := func(code string, then string) {
		run(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(then)))
	}

	p := newPKCE()
	signIn("m-1", p)
	sh.shot("code-step")
	submitCode(first, "#code-error") // the confirming code, again: a replay
	if msg := text(ctx, "#code-error"); !strings.Contains(msg, "already used") {
		t.Errorf("replayed code: %q", msg)
	}
	next := totpAt(t, key, time.Now().Add(30*time.Second))
	submitCode(next, "button[value=approve]")
	run(t, ctx, chromedp.Click(chromedp.CSS("button[value=approve]")), chromedp.WaitVisible(chromedp.CSS("#done")))
	got := cb.take()
	amr, acr := idTokenClaims(t, s, docs.ID, cb.url, got.Get("code"), p.verifier)
	wantMFA(t, "authenticator app", amr, acr)

	p = newPKCE()
	signIn("m-2", p)
	submitCode(next, "#code-error") // used a moment ago
	submitCode(codes[0], "#done")   // consent is remembered
	amr, acr = idTokenClaims(t, s, docs.ID, cb.url, cb.take().Get("code"), p.verifier)
	wantMFA(t, "recovery code", amr, acr)
	signIn("m-3", newPKCE())
	submitCode(codes[0], "#code-error")
	if msg := text(ctx, "#code-error"); !strings.Contains(msg, "not right") {
		t.Errorf("a used recovery code: %q", msg)
	}

	events := s.run(t, "events", "--env", s.acme)
	for _, typ := range []string{"factor.totp_enrolled", "factor.totp_confirmed", "factor.totp_used", "factor.recovery_code_used", "factor.code_failed"} {
		if !strings.Contains(events, `"type":"`+typ+`"`) {
			t.Errorf("no %s event", typ)
		}
	}
	secrets := append([]string{strings.ReplaceAll(key, " ", ""), key}, codes...)
	for _, sec := range secrets {
		if strings.Contains(strings.ToLower(events), strings.ToLower(sec)) {
			t.Errorf("a secret reached the event log: %q", sec)
		}
		if strings.Contains(strings.ToLower(s.a.output()), strings.ToLower(sec)) {
			t.Errorf("a secret reached the server's log: %q", sec)
		}
	}
}

var (
	manualKey = regexp.MustCompile(`id="manual-key">([^<]+)<`)
	factorID  = regexp.MustCompile(`name="factor_id" value="([^"]+)"`)
)

// signInWithPassword posts the login form of an authorization request and returns the page.
func signInWithPassword(t *testing.T, pc *pageClient, authorize, issuer string) (*http.Response, string) {
	t.Helper()
	_, page := pc.do("GET", authorize, nil)
	f := fields(page)
	return pc.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"email": {"eve-target@example.com"}, "password": {"correct horse battery"}})
}

func hasCookie(pc *pageClient, issuer, name string) bool {
	u, _ := url.Parse(issuer)
	for _, c := range pc.c.Jar.Cookies(u) {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

// An attacker who knows the password cannot skip the second step: no session exists after
// the password (authorize asks for it again, consent refuses), and the half-signed-in state
// of one browser, copied into another, is refused there even with a right code.
func TestSecondFactorCannotBeSkipped(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	app := s.client(t, s.acme, "--name", "App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	s.userJSON(t, s.acme, "eve-target@example.com", "Target")
	issuer := s.a.issuer(s.acme)

	// The target sets up an authenticator (through the pages, as a person would).
	owner := newPageClient(t, issuer)
	_, page := owner.do("GET", issuer+"/login", nil)
	owner.do("POST", issuer+"/login", url.Values{"_csrf": {fields(page).Get("_csrf")}, "email": {"eve-target@example.com"},
		"password": {"correct horse battery"}})
	_, page = owner.do("GET", issuer+"/account/security", nil)
	_, page = owner.do("POST", issuer+"/account/totp", url.Values{"_csrf": {fields(page).Get("_csrf")}})
	key, id := manualKey.FindStringSubmatch(page), factorID.FindStringSubmatch(page)
	if key == nil || id == nil {
		t.Fatalf("enrol page: %s", page)
	}
	if _, page = owner.do("POST", issuer+"/account/totp/confirm", url.Values{"_csrf": {fields(page).Get("_csrf")},
		"factor_id": {id[1]}, "code": {totpAt(t, key[1], time.Now())}}); !strings.Contains(page, "recovery-codes") {
		t.Fatalf("confirm: %s", page)
	}

	p := newPKCE()
	authorize := issuer + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ID},
		"redirect_uri": {"https://app.example.com/cb"}, "scope": {"openid"}, "state": {"x"}, "code_challenge": {p.challenge},
		"code_challenge_method": {"S256"}}.Encode()
	eve := newPageClient(t, issuer)
	resp, page := signInWithPassword(t, eve, authorize, issuer)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="code"`) || hasCookie(eve, issuer, "paylent_session") {
		t.Fatalf("after the password: %d, session cookie %v", resp.StatusCode, hasCookie(eve, issuer, "paylent_session"))
	}
	flow := fields(page).Get("flow")
	if resp, page = eve.do("GET", authorize, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
		t.Errorf("authorize after the password alone: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ = eve.do("POST", issuer+"/consent", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {flow},
		"decision": {"approve"}}); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
		t.Errorf("consent after the password alone: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ = eve.do("POST", issuer+"/login/continue", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {flow}}); resp.StatusCode != http.StatusOK ||
		resp.Header.Get("Location") != "" {
		t.Errorf("continue after the password alone: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Another browser with the first one's half-signed-in cookie and a right code.
	u, _ := url.Parse(issuer)
	other := newPageClient(t, issuer)
	_, page = other.do("GET", issuer+"/login", nil)
	for _, c := range eve.c.Jar.Cookies(u) {
		if c.Name == "paylent_mfa" {
			other.c.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
		}
	}
	code := totpAt(t, key[1], time.Now().Add(30*time.Second))
	resp, page = other.do("POST", issuer+"/login/code", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {flow}, "code": {code}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Sign-in expired") || hasCookie(other, issuer, "paylent_session") {
		t.Errorf("another browser's half-signed-in state: %d", resp.StatusCode)
	}
	// The browser that passed the password, with the code: signed in, and on to the app.
	_, page = eve.do("GET", issuer+"/login", nil)
	resp, _ = eve.do("POST", issuer+"/login/code", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {flow}, "code": {code}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusOK && !strings.HasPrefix(loc, "https://app.example.com/cb?") ||
		!hasCookie(eve, issuer, "paylent_session") {
		t.Errorf("the right browser with the right code: %d %q", resp.StatusCode, loc)
	}
}
