package main_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// A signed-in person adds a passkey on the security page (a virtual authenticator stands in
// for the phone: CDP WebAuthn.addVirtualAuthenticator), then signs in to a third-party app
// with it and no password: the ID token (checked by go-oidc) says amr [hwk mfa] and the mfa
// acr. Only the public key reaches the event log. Removed, the passkey signs nobody in.
func TestPasskeyInTheBrowser(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	cb := newCallbackServer(t)
	docs := s.client(t, s.acme, "--name", "Documents App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", cb.url, "--scope", "openid")
	s.userJSON(t, s.acme, "ada@example.com", "Ada")
	ctx := browser(t)
	sh := &shooter{t: t, ctx: ctx, dir: artifacts(t, "passkeys")}
	issuer := s.a.issuer(s.acme)

	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	auth, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}

	run(t, ctx, chromedp.Navigate(issuer+"/login"), chromedp.WaitVisible(chromedp.CSS("#passkey-signin")))
	if ac := eval[string](t, ctx, `document.querySelector("#email").autocomplete`); ac != "username webauthn" {
		t.Errorf("the email field's autocomplete: %q (conditional UI needs webauthn)", ac)
	}
	sh.shot("login")
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#security")),
		chromedp.Click(chromedp.CSS("#security")), chromedp.WaitVisible(chromedp.CSS("#passkey-add")),
		chromedp.SetValue(chromedp.CSS("#passkey-name"), "Work laptop"), chromedp.Click(chromedp.CSS("#passkey-add")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys li")))
	sh.shot("passkey-added")
	if list := text(ctx, "#passkeys"); !strings.Contains(list, "Work laptop") {
		t.Fatalf("passkeys: %q", list)
	}
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth.AuthenticatorID})
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential ||
		creds.Credentials[0].RpID != s.acme+"."+strings.Split(s.a.domain, ":")[0] {
		t.Fatalf("the authenticator's credentials: %+v %v", creds, err)
	}

	// The login page asks for a passkey through the email field's autofill (conditional
	// mediation); the virtual authenticator answers at once, as a person picking the passkey.
	p := newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid", "pk-1", p, "prompt", "login")),
		chromedp.WaitVisible(chromedp.CSS("button[value=approve]")), chromedp.Click(chromedp.CSS("button[value=approve]")),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	amr, acr := idTokenClaims(t, s, docs.ID, cb.url, cb.take().Get("code"), p.verifier)
	if !slices.Equal(amr, []string{"hwk", "mfa"}) || acr != "urn:paylent:acr:mfa" {
		t.Errorf("passkey sign-in: amr %v acr %q", amr, acr)
	}

	events := s.run(t, "events", "--env", s.acme)
	for _, typ := range []string{"factor.passkey_registered", "factor.passkey_used"} {
		if !strings.Contains(events, `"type":"`+typ+`"`) {
			t.Errorf("no %s event", typ)
		}
	}
	private := base64.StdEncoding.EncodeToString(creds.Credentials[0].PrivateKey)
	raw := base64.RawURLEncoding.EncodeToString(creds.Credentials[0].PrivateKey)
	if strings.Contains(events, private[:40]) || strings.Contains(events, raw[:40]) {
		t.Error("the passkey's private key reached the event log")
	}

	run(t, ctx, chromedp.Navigate(issuer+"/account/security"), chromedp.WaitVisible(chromedp.CSS("#passkeys form button")),
		chromedp.Click(chromedp.CSS("#passkeys form button")), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if list := text(ctx, "#passkeys"); strings.Contains(list, "Work laptop") {
		t.Errorf("after removal: %q", list)
	}
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid", "pk-2", newPKCE(), "prompt", "login")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-signin")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#passkey-status").textContent.includes("did not work")`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("a removed passkey: no refusal shown: %v (%q)", err, text(ctx, "#passkey-status"))
	}
	if got := cb.take(); got != nil {
		t.Errorf("a removed passkey signed in: %v", got)
	}
}
