package main_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var passkeyFactorID = regexp.MustCompile(`name="factor_id" value="(passkey-[^"]+)"`)

// passwordSession signs a new browser in with the password alone (no application).
func passwordSession(t *testing.T, issuer, email string) *pageClient {
	t.Helper()
	pc := newPageClient(t, issuer)
	_, page := pc.do("GET", issuer+"/login", nil)
	pc.do("POST", issuer+"/login", url.Values{"_csrf": {fields(page).Get("_csrf")}, "email": {email}, "password": {"correct horse battery"}})
	if !hasCookie(pc, issuer, "paylent_session") {
		t.Fatalf("%s: no session after the password", email)
	}
	return pc
}

// A session that proved only the password cannot change how a user who already has a
// second factor or a passkey signs in: a thief with the password (or with a session from
// before the authenticator was set up) adds no passkey of their own (which would sign in
// at the mfa level, and outlive a password change), sets up no authenticator app in front
// of a passkey user, and removes none of their passkeys; nor does the password alone,
// asked for the mfa class, let the thief set up an authenticator of their own at sign-in.
// The owner, signed in with a passkey, still adds another.
func TestPasswordSessionCannotChangeFactors(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	app := s.client(t, s.acme, "--name", "App", "--type", "confidential", "--first-party", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	s.userJSON(t, s.acme, "pk-owner@example.com", "Passkey owner")
	s.userJSON(t, s.acme, "totp-owner@example.com", "TOTP owner")
	issuer := s.a.issuer(s.acme)

	// A user whose only factor is a passkey.
	owner := passwordSession(t, issuer, "pk-owner@example.com")
	ownerKey := newSoftKey(t, issuer)
	if b, f := addPasskey(owner, issuer, ownerKey); b != http.StatusOK || f != http.StatusOK {
		t.Fatalf("the owner's first passkey: %d %d", b, f)
	}
	_, page := owner.do("GET", issuer+"/account/security", nil)
	pk := passkeyFactorID.FindStringSubmatch(page)
	if pk == nil {
		t.Fatalf("security page: %s", page)
	}

	// The thief knows the password. Asked for the mfa class, the password does not lead to
	// an authenticator app of the thief's own.
	thief := newPageClient(t, issuer)
	authorize := issuer + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ID},
		"redirect_uri": {"https://app.example.com/cb"}, "scope": {"openid"}, "state": {"x"},
		"acr_values": {"urn:paylent:acr:mfa"}}.Encode()
	_, page = thief.do("GET", authorize, nil)
	_, page = thief.do("POST", issuer+"/login", url.Values{"_csrf": {fields(page).Get("_csrf")}, "flow": {fields(page).Get("flow")},
		"email": {"pk-owner@example.com"}, "password": {"correct horse battery"}})
	if manualKey.MatchString(page) {
		t.Error("the password of a passkey user, asked for mfa, sets up an authenticator app")
	}

	// With a password-only session: no authenticator app, no passkey removed.
	thief = passwordSession(t, issuer, "pk-owner@example.com")
	_, page = thief.do("GET", issuer+"/account/security", nil)
	_, page = thief.do("POST", issuer+"/account/totp", url.Values{"_csrf": {fields(page).Get("_csrf")}})
	if manualKey.MatchString(page) {
		t.Error("a password-only session sets up an authenticator app for a passkey user")
	}
	_, page = thief.do("GET", issuer+"/account/security", nil)
	thief.do("POST", issuer+"/account/passkeys/remove", url.Values{"_csrf": {fields(page).Get("_csrf")}, "factor_id": {pk[1]}})
	if st := passkeySignIn(newPageClient(t, issuer), issuer, ownerKey); st != http.StatusOK {
		t.Errorf("a password-only session removed the owner's passkey: sign-in %d", st)
	}
	thiefKey := newSoftKey(t, issuer)
	if _, f := addPasskey(thief, issuer, thiefKey); f == http.StatusOK {
		t.Error("a password-only session adds a passkey for a passkey user")
	}
	// The owner, signed in with their passkey, adds a second one.
	owner = newPageClient(t, issuer)
	if st := passkeySignIn(owner, issuer, ownerKey); st != http.StatusOK {
		t.Fatalf("the owner's passkey sign-in: %d", st)
	}
	if b, f := addPasskey(owner, issuer, newSoftKey(t, issuer)); b != http.StatusOK || f != http.StatusOK {
		t.Errorf("the owner's second passkey, after signing in with the first: %d %d", b, f)
	}

	// A user with an authenticator app, and a session the thief started before it.
	thief = passwordSession(t, issuer, "totp-owner@example.com")
	owner = passwordSession(t, issuer, "totp-owner@example.com")
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
	thiefKey = newSoftKey(t, issuer)
	if b, f := addPasskey(thief, issuer, thiefKey); b == http.StatusOK && f == http.StatusOK {
		t.Error("a session from before the authenticator app adds a passkey")
		// ... which then signs in at the mfa level without the app.
		pc := newPageClient(t, issuer)
		if passkeySignIn(pc, issuer, thiefKey) == http.StatusOK {
			resp, _ := pc.do("GET", authorize+"&prompt=none", nil)
			t.Errorf("the thief's passkey, asked for mfa: %q", resp.Header.Get("Location"))
		}
	}
}
