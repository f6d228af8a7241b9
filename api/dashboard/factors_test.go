package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/user"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

var shownPassword = regexp.MustCompile(`id="new-password" value="([^"]+)"`)

// mfaUser makes a user of acme-test with a confirmed authenticator app (one code used since)
// and a passkey from iCloud Keychain, signed in with both factors; it returns their id and
// the authenticator's factor id.
func (r *rig) mfaUser(t *testing.T, email string) (string, string) {
	t.Helper()
	ctx, env := t.Context(), "acme-test"
	pw, _ := user.NewPassword("a long and unusual phrase", email)
	u, err := r.h.App.CreateUser(ctx, app.CreateUser{Environment: env, Email: email, Name: "Eve Target", Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	browser := app.Browser{IP: "192.0.2.9", UserAgent: "test"}
	e, err := r.h.App.EnrolTOTP(ctx, app.EnrolTOTP{Environment: env, UserID: u.UserID, Issuer: "Acme", Account: email, Browser: browser})
	if err != nil {
		t.Fatal(err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCodeCustom(e.Key, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := r.h.App.ConfirmTOTP(ctx, app.ConfirmTOTP{Environment: env, UserID: u.UserID, FactorID: e.FactorID,
		Code: code(time.Now().Add(-factor.Period)), Browser: browser}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.h.App.VerifySecondFactor(ctx, app.SecondFactorCheck{Environment: env, UserID: u.UserID, Code: code(time.Now()),
		Browser: browser}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.h.Loop.Execute(ctx, factor.RegisterPasskey{Environment: env, UserID: u.UserID, Passkey: factor.PasskeyRegistered{
		FactorID: "passkey-0001", CredentialID: "Y3JlZGVudGlhbC1pZC0wMDAx", PublicKey: "cHVibGljLWtleS1jb3NlLWJ5dGVz",
		AAGUID: "fbfc3007154e4ecc8c0b6e020557d7bd", Flags: 0x1d, Name: "Eve's iPhone"}, MultiFactor: true}, domain.Actor{Kind: domain.ActorUser, ID: u.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.h.App.StartSession(ctx, app.StartSession{Environment: env, UserID: u.UserID, TTL: time.Hour, Browser: browser,
		AMR: []string{session.AMRPassword, session.AMROTP, session.AMRMulti}}); err != nil {
		t.Fatal(err)
	}
	return u.UserID, e.FactorID
}

// The user's page lists the authenticator (enrolled, confirmed, last used, recovery codes
// left) and the passkey (its name and authenticator), each with a Reset link; the audit log
// says how the user signed in and which factor was used.
func TestUserPageShowsFactors(t *testing.T) {
	r := newRig(t)
	alice := r.signIn(t, "acme", "ops@acme.example")
	id, totpID := r.mfaUser(t, "eve@example.com")
	code, page := alice.get("/e/acme-test/users/" + id)
	for _, want := range []string{`id="factor-` + totpID + `"`, "Authenticator app", ">enrolled<", "confirmed 20", "10 of 10",
		"Eve&#39;s iPhone", "iCloud Keychain", `href="/e/acme-test/users/` + id + `/factors/` + totpID + `/remove"`,
		`href="/e/acme-test/users/` + id + `/factors/reset"`, `href="/e/acme-test/users/` + id + `/password"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the user page lacks %s", want)
		}
	}
	if code != http.StatusOK || strings.Contains(page, "sealed:") {
		t.Fatalf("user page: %d", code)
	}
	_, page = alice.get("/e/acme-test/audit")
	for _, want := range []string{"signed in with password and authenticator app code (multi-factor)",
		"second factor: authenticator app code accepted", "passkey registered: “Eve&#39;s iPhone”"} {
		if !strings.Contains(page, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
}

// Removing a factor and resetting all of them ask first, need the form's CSRF token, and
// are recorded as the operator's; another account's operator gets 404 and changes nothing.
func TestOperatorResetsFactors(t *testing.T) {
	r := newRig(t)
	alice := r.signIn(t, "acme", "ops@acme.example")
	id, totpID := r.mfaUser(t, "eve@example.com")
	base := "/e/acme-test/users/" + id
	if code, page := alice.get(base + "/factors/" + totpID + "/remove"); code != http.StatusOK ||
		!strings.Contains(page, `id="confirm-remove-factor"`) || !strings.Contains(page, "recovery codes go with it") {
		t.Fatalf("confirmation: %d\n%.600s", code, page)
	}
	if resp, _ := alice.do("POST", base+"/factors/"+totpID+"/remove", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", resp.StatusCode)
	}
	eve := r.signIn(t, "globex", "eve@globex.example")
	for _, path := range []string{base + "/factors/" + totpID + "/remove", base + "/factors/reset", base + "/password",
		"/e/globex-test/users/" + id + "/factors/reset", "/e/globex-test/users/" + id + "/password"} {
		if code, _ := eve.get(path); code != http.StatusNotFound {
			t.Errorf("another account's operator, GET %s: %d", path, code)
		}
		if resp, _ := eve.post(path, url.Values{}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another account's operator, POST %s: %d", path, resp.StatusCode)
		}
	}
	if f, _ := r.h.App.Factors(t.Context(), "acme-test", id); len(f.List) != 2 {
		t.Fatalf("refused requests removed factors: %+v", f.List)
	}

	resp, _ := alice.post(base+"/factors/"+totpID+"/remove", url.Values{})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != base+"?ok=factor-removed" {
		t.Fatalf("remove: %d %q", resp.StatusCode, loc)
	}
	if f, _ := r.h.App.Factors(t.Context(), "acme-test", id); len(f.List) != 1 || f.List[0].Kind != factor.KindPasskey {
		t.Errorf("after the removal: %+v", f.List)
	}
	if resp, _ := alice.post(base+"/factors/"+totpID+"/remove", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removed twice: %d", resp.StatusCode)
	}
	if code, page := alice.get(base + "/factors/reset"); code != http.StatusOK || !strings.Contains(page, "Passkey “Eve&#39;s iPhone”") {
		t.Errorf("reset confirmation: %d", code)
	}
	if resp, _ = alice.post(base+"/factors/reset", url.Values{}); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != base+"?ok=factors-reset" {
		t.Fatalf("reset all: %d", resp.StatusCode)
	}
	if code, page := alice.get(base + "?ok=factors-reset"); code != http.StatusOK || !strings.Contains(page, `id="no-factors"`) ||
		!strings.Contains(page, "Every second factor and passkey of the user was removed.") {
		t.Errorf("the user page after the reset: %d", code)
	}
	if resp, _ = alice.post(base+"/factors/reset", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("nothing left to reset: %d", resp.StatusCode)
	}
	removed := 0
	for _, e := range r.events(t, "acme-test") {
		if e.Type == "factor.removed" {
			var a domain.Actor
			_ = json.Unmarshal(e.Actor, &a)
			if a.Kind != domain.ActorOperator || a.ID != alice.op.UserID || !strings.Contains(string(e.Data), factor.RemovedByOperator) {
				t.Errorf("factor.removed by %+v: %s", a, e.Data)
			}
			removed++
		}
	}
	if removed != 2 {
		t.Errorf("%d factor.removed events, want 2", removed)
	}
}

func (r *rig) events(t *testing.T, env string) []domain.Envelope {
	t.Helper()
	evs, err := r.h.Store.ReadEnvironment(t.Context(), env, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Resetting a password redirects to the page that shows the generated password once (a
// reload resets nothing and shows no password), ends the user's sessions, and is recorded as
// the operator's; the password is in no URL, cookie value or event.
func TestResetPasswordShowsItOnce(t *testing.T) {
	r := newRig(t)
	alice := r.signIn(t, "acme", "ops@acme.example")
	id, _ := r.mfaUser(t, "eve@example.com")
	path := "/e/acme-test/users/" + id + "/password"
	if code, page := alice.get(path); code != http.StatusOK || !strings.Contains(page, `id="confirm-reset-password"`) ||
		shownPassword.MatchString(page) {
		t.Fatalf("confirmation: %d", code)
	}
	before, _ := r.h.Catalog.User("acme-test", id)
	resp, _ := alice.post(path, url.Values{})
	loc := resp.Header.Get("Location")
	var flash *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == passwordFlash.cookie {
			flash = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || loc != path {
		t.Fatalf("reset: %d %q", resp.StatusCode, loc)
	}
	if flash == nil || !flash.HttpOnly || flash.Path != path || flash.SameSite != http.SameSiteStrictMode || flash.MaxAge <= 0 || flash.MaxAge > 120 {
		t.Fatalf("flash cookie %+v", flash)
	}
	code, page := alice.get(path)
	m := shownPassword.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil || len(m[1]) < 16 || !strings.Contains(page, "1 session(s)") {
		t.Fatalf("the password page: %d\n%.800s", code, page)
	}
	password := m[1]
	after, _ := r.h.Catalog.User("acme-test", id)
	if after.PasswordHash == before.PasswordHash {
		t.Error("the password did not change")
	}
	for _, s := range r.h.Sessions.OfUser("acme-test", id) {
		if s.Active(time.Now()) {
			t.Errorf("session %s still active", s.ID)
		}
	}
	if strings.Contains(flash.Value, password) || strings.Contains(loc, password) {
		t.Error("the password is readable in the cookie or the URL")
	}
	if code, page = alice.get(path); code != http.StatusOK || shownPassword.MatchString(page) || strings.Contains(page, password) {
		t.Errorf("a reload shows the password again: %d", code)
	}
	if again, _ := r.h.Catalog.User("acme-test", id); again.PasswordHash != after.PasswordHash {
		t.Error("a reload reset the password again")
	}
	changes := 0
	for _, e := range r.events(t, "acme-test") {
		if strings.Contains(string(e.Data), password) {
			t.Errorf("event %s holds the password", e.Type)
		}
		if e.Type == "user.password_changed" {
			var a domain.Actor
			_ = json.Unmarshal(e.Actor, &a)
			if a.Kind != domain.ActorOperator || a.ID != alice.op.UserID {
				t.Errorf("user.password_changed by %+v", a)
			}
			changes++
		}
	}
	if changes != 1 {
		t.Errorf("%d password changes, want 1", changes)
	}
}

// A password flash opens only for the sign-in that made it, on its user's page, in time,
// and while that password is still the user's.
func TestPasswordFlashIsBound(t *testing.T) {
	r := newRig(t)
	alice := r.signIn(t, "acme", "ops@acme.example")
	id, _ := r.mfaUser(t, "eve@example.com")
	other, _ := r.mfaUser(t, "mallory@example.com")
	path := "/e/acme-test/users/" + id + "/password"
	reset := func(b *browser, p string) string {
		resp, _ := b.post(p, url.Values{})
		for _, c := range resp.Cookies() {
			if c.Name == passwordFlash.cookie {
				return c.Value
			}
		}
		t.Fatalf("no flash from %s: %d", p, resp.StatusCode)
		return ""
	}
	replay := func(b *browser, p, value string) bool {
		u, _ := url.Parse(origin + p)
		b.jar.SetCookies(u, []*http.Cookie{{Name: passwordFlash.cookie, Value: value, Path: p}})
		_, page := b.get(p)
		return shownPassword.MatchString(page)
	}
	value := reset(alice, path)
	if replay(r.signIn(t, "acme", "ops@acme.example"), path, value) {
		t.Error("another sign-in of the same operator opened the flash")
	}
	if replay(r.signIn(t, "acme", "bob@acme.example"), path, value) {
		t.Error("another operator of the account opened the flash")
	}
	if replay(alice, "/e/acme-test/users/"+other+"/password", value) {
		t.Error("the flash opened on another user's page")
	}
	if replay(alice, "/e/acme-live/users/"+id+"/password", value) {
		t.Error("the flash opened in another environment")
	}
	u, _ := url.Parse(origin + "/e/acme-test/clients/x/secret")
	alice.jar.SetCookies(u, []*http.Cookie{{Name: flashCookie, Value: value, Path: "/e/acme-test/clients/x/secret"}})
	if _, page := alice.get("/e/acme-test/clients/x/secret"); strings.Contains(page, "new-password") || shownSecret.MatchString(page) {
		t.Error("a password flash opened as a client secret")
	}
	r.now = r.now.Add(flashTTL + time.Second)
	if replay(alice, path, value) {
		t.Error("an expired flash opened")
	}
	r.now = r.now.Add(-flashTTL - time.Second)
	older := reset(alice, path)
	_ = reset(alice, path) // a newer reset
	if replay(alice, path, older) {
		t.Error("the flash of an older reset opened")
	}
	if !replay(alice, path, reset(alice, path)) {
		t.Fatal("the genuine flash shows no password (the replays above prove nothing)")
	}
}
