package main_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// In Chromium with a CDP virtual authenticator: a person signs up from an application's
// login page, is signed in at once and offered a passkey, adds one and goes on to the
// application (the sign-up's ID token says pwd); the next sign-in is with the passkey alone
// ([hwk mfa]). They also set up an authenticator app. Then an operator of the account opens
// the user's page in the dashboard: the authenticator and the passkey are listed; the
// operator removes the passkey (after a confirmation), resets the password (the generated one
// shown once; a reload shows the confirmation and resets nothing), and the audit log says
// which factor each sign-in used. Screenshots of the new dashboard pieces go to
// artifacts/dashboard-factors (docs/screenshots/dashboard-factors holds a copy).
func TestSignUpPasskeyAndOperatorReset(t *testing.T) {
	t.Parallel()
	s := sharedOne(t) // one instance: its dev outbox has the passcode
	cb := newCallbackServer(t)
	docs := s.client(t, s.acme, "--name", "Documents App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", cb.url, "--scope", "openid")
	opEmail, opPassword := s.operator(t, s.account, "operator@acme.example")
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	user := &shooter{t: t, ctx: ctx, dir: artifacts(t, "passkeys"), n: 2} // after TestPasskeyInTheBrowser's two
	sh := &shooter{t: t, ctx: ctx, dir: artifacts(t, "dashboard-factors")}
	issuer := s.a.issuer(s.acme)
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true}}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}

	// Sign up from the application's login page; the passkey step follows at once.
	p := newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid", "su-1", p)),
		chromedp.WaitVisible(chromedp.CSS("a[href^='/register']")), chromedp.Click(chromedp.CSS("a[href^='/register']")),
		chromedp.WaitVisible(chromedp.CSS("#email")), chromedp.SendKeys(chromedp.CSS("#email"), "grace@example.com"),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#passcode")))
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#passcode"), s.passcode(t, "grace@example.com")), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#name")), chromedp.SendKeys(chromedp.CSS("#name"), "Grace Hopper"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a long enough secret"), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-add")), chromedp.WaitVisible(chromedp.CSS("#passkey-skip")))
	user.shot("signup-offers-passkey")
	run(t, ctx, chromedp.SetValue(chromedp.CSS("#passkey-name"), "Grace's phone"), chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS("button[value=approve]")), chromedp.Click(chromedp.CSS("button[value=approve]")),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	got := cb.take()
	if got.Get("state") != "su-1" || got.Get("code") == "" {
		t.Fatalf("callback after the sign-up: %v", got)
	}
	if amr, _ := idTokenClaims(t, s, docs.ID, cb.url, got.Get("code"), p.verifier); !slices.Equal(amr, []string{"pwd"}) {
		t.Errorf("the sign-up's session: amr %v", amr)
	}
	// The next sign-in needs no password: the email field's autofill offers the passkey.
	p = newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid", "su-2", p, "prompt", "login")),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	if amr, acr := idTokenClaims(t, s, docs.ID, cb.url, cb.take().Get("code"), p.verifier); !slices.Equal(amr, []string{"hwk", "mfa"}) ||
		acr != "urn:paylent:acr:mfa" {
		t.Errorf("the passkey sign-in: amr %v acr %q", amr, acr)
	}
	// An authenticator app too, on the security page.
	run(t, ctx, chromedp.Navigate(issuer+"/account/security"), chromedp.WaitVisible(chromedp.CSS("#enrol")),
		chromedp.Click(chromedp.CSS("#enrol")), chromedp.WaitVisible(chromedp.CSS("#manual-key")))
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#code"), totpAt(t, text(ctx, "#manual-key"), time.Now())),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#recovery-codes")))

	// The operator's dashboard.
	run(t, ctx, chromedp.Navigate(s.a.dashboardURL()), chromedp.WaitVisible(chromedp.CSS("#signin")),
		chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#email"), opEmail), chromedp.SendKeys(chromedp.CSS("#password"), opPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#register-application")))
	var userID string
	cliJSON(t, s.cliEnv, &struct {
		ID *string `json:"user_id"`
	}{&userID}, "users", "get", "--env", s.acme, "--email", "grace@example.com")
	userPage := s.a.dashboardURL() + "/e/" + s.acme + "/users/" + userID
	run(t, ctx, chromedp.Navigate(userPage), chromedp.WaitVisible(chromedp.CSS("#factor-list")),
		chromedp.ScrollIntoView(chromedp.CSS("#factors")))
	list := text(ctx, "#factor-list")
	for _, want := range []string{"Authenticator app", "enrolled", "10 of 10", "Passkey", "Grace's phone"} {
		if !strings.Contains(list, want) {
			t.Errorf("the factor list lacks %q: %q", want, list)
		}
	}
	sh.shot("user-factors")
	run(t, ctx, chromedp.Click(chromedp.CSS(`a[id^="remove-factor-passkey-"]`)), chromedp.WaitVisible(chromedp.CSS("#confirm-remove-factor")))
	sh.shot("remove-passkey-confirm")
	run(t, ctx, chromedp.Click(chromedp.CSS("#confirm-remove-factor")), chromedp.WaitVisible(chromedp.CSS("#factor-list")))
	if list := text(ctx, "#factor-list"); strings.Contains(list, "Grace's phone") || !strings.Contains(list, "Authenticator app") {
		t.Errorf("after removing the passkey: %q", list)
	}
	sh.shot("passkey-removed")

	run(t, ctx, chromedp.Click(chromedp.CSS("#reset-password")), chromedp.WaitVisible(chromedp.CSS("#confirm-reset-password")))
	sh.shot("reset-password-confirm")
	run(t, ctx, chromedp.Click(chromedp.CSS("#confirm-reset-password")), chromedp.WaitVisible(chromedp.CSS("#new-password")))
	password := eval[string](t, ctx, `document.querySelector("#new-password").value`)
	if len(password) < 16 || strings.Contains(eval[string](t, ctx, "location.href"), password) {
		t.Fatalf("the generated password %q, at %s", password, eval[string](t, ctx, "location.href"))
	}
	sh.shot("password-shown-once")
	run(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#confirm-reset-password")))
	if page := eval[string](t, ctx, "document.body.innerHTML"); strings.Contains(page, password) {
		t.Error("a reload shows the password again")
	}
	sh.shot("password-page-reloaded")

	run(t, ctx, chromedp.Navigate(s.a.dashboardURL()+"/e/"+s.acme+"/audit?type=session.started"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	rows := text(ctx, "#audit-rows")
	for _, want := range []string{"signed in with password", "signed in with device-bound passkey (multi-factor)"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, rows)
		}
	}
	sh.shot("audit-sign-ins")
	run(t, ctx, chromedp.Navigate(s.a.dashboardURL()+"/e/"+s.acme+"/audit?type=factor."), chromedp.WaitVisible(chromedp.CSS("#audit")))
	rows = text(ctx, "#audit-rows")
	for _, want := range []string{"passkey registered", "signed in with a passkey", "authenticator app confirmed", "passkey removed by an operator (reset)"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, rows)
		}
	}
	sh.shot("audit-factors")

	// The password is in no event and no log line; the user signs in with it.
	events := s.run(t, "events", "--env", s.acme)
	if strings.Contains(events, password) || strings.Contains(s.a.output(), password) {
		t.Error("the generated password reached the events or the log")
	}
	changed := false
	for _, line := range strings.Split(events, "\n") {
		changed = changed || strings.Contains(line, `"user.password_changed"`) && strings.Contains(line, `"kind":"operator"`)
	}
	if !changed {
		t.Error("no user.password_changed by an operator")
	}
}
