package main_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// tokensFor redeems a code as a public client would and returns the token response.
func tokensFor(t *testing.T, s *stack, clientID, redirect, code, verifier string) map[string]any {
	t.Helper()
	st, body := s.b.post(s.acme, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID},
		"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}, "", "")
	if st != 200 || body["refresh_token"] == nil {
		t.Fatalf("token exchange: %d %v", st, body)
	}
	return body
}

// mailTo reports whether any instance's dev outbox holds a mail to an address.
func (s *stack) mailTo(to string) bool {
	for _, inst := range []*instance{s.a, s.b} {
		files, _ := filepath.Glob(filepath.Join(inst.dataDir, "outbox", "*.eml"))
		for _, f := range files {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), "To: "+to+"\r\n") {
				return true
			}
		}
	}
	return false
}

// "Forgot password?": a signed-in user with a refresh token recovers their password with the
// code from the dev outbox; the old refresh token is refused, the old session must sign in
// again, the new password signs in and the old one does not. An unknown address gets the
// same answer and no mail; wrong codes are limited; no code or password reaches an event or
// a log line.
func TestAccountRecovery(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	cb := newCallbackServer(t)
	app := s.client(t, s.acme, "--name", "Docs", "--type", "public", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", cb.url, "--scope", "openid")
	s.userJSON(t, s.acme, "rita@example.com", "Rita")
	const oldPassword, newPassword = "correct horse battery", "a fresh start at last"

	// Signed in, in the browser and in the app (a refresh token).
	ctx := browser(t)
	p := newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, app.ID, cb.url, "openid", "rc-1", p)), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#email"), "rita@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), oldPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("button[value=approve]")),
		chromedp.Click(chromedp.CSS("button[value=approve]")), chromedp.WaitVisible(chromedp.CSS("#done")))
	before := tokensFor(t, s, app.ID, cb.url, cb.take().Get("code"), p.verifier)
	refreshToken := before["refresh_token"].(string)

	// The JSON API: an unknown address gets the known one's answer, and no mail.
	post := func(path string, body map[string]string) (int, map[string]any) {
		b, _ := json.Marshal(body)
		code, _, raw := s.a.postRaw(s.acme, path, "application/json", string(b), "", "")
		var m map[string]any
		json.Unmarshal(raw, &m) //nolint:errcheck // checked by callers
		return code, m
	}
	c1, unknown := post("/recover", map[string]string{"email": "nobody@example.com"})
	c2, known := post("/recover", map[string]string{"email": "rita@example.com"})
	if c1 != 202 || c2 != 202 || unknown["message"] != known["message"] || unknown["recovery_id"] == nil || known["recovery_id"] == nil {
		t.Errorf("unknown vs known address: %d %v / %d %v", c1, unknown, c2, known)
	}
	right := s.passcode(t, "rita@example.com") // mailed after the unknown address's turn
	if len(right) != 6 {
		t.Fatal("no code in the recovery mail")
	}
	if s.mailTo("nobody@example.com") {
		t.Error("an unknown address got a mail")
	}
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	id := known["recovery_id"].(string)
	for i := range 5 {
		if st, body := post("/recover/verify", map[string]string{"recovery_id": id, "passcode": wrong}); st != 400 || body["error"] != "invalid_passcode" {
			t.Fatalf("wrong code %d: %d %v", i, st, body)
		}
	}
	if st, body := post("/recover/verify", map[string]string{"recovery_id": id, "passcode": right}); st != 400 || body["error"] != "passcode_expired" {
		t.Errorf("the right code after five wrong ones: %d %v", st, body)
	}

	// The pages, from the login page's link: a wrong code, the right one, a weak password,
	// then the new one.
	run(t, ctx, chromedp.Navigate(s.a.issuer(s.acme)+"/login"), chromedp.WaitVisible(chromedp.CSS("#forgot")),
		chromedp.Click(chromedp.CSS("#forgot")), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "Rita@Example.com"), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#passcode")))
	if sent := text(ctx, "#sent"); !strings.Contains(sent, "has an account") {
		t.Errorf("the answer: %q", sent)
	}
	code := s.passcode(t, "rita@example.com")
	if len(code) != 6 || code == right {
		t.Fatalf("the second recovery's code %q", code)
	}
	wrong = "000000"
	if code == wrong {
		wrong = "111111"
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#passcode"), wrong), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")), chromedp.SendKeys(chromedp.CSS("#passcode"), code),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), "password123"), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")))
	if msg := text(ctx, "#form-error"); !strings.Contains(msg, "common") {
		t.Errorf("a weak password's message: %q", msg)
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#password"), newPassword), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	if notice := text(ctx, "#notice"); !strings.Contains(notice, "password was changed") {
		t.Errorf("the last page: %q", notice)
	}

	// Everything the old password made is gone, on either instance.
	for _, inst := range []*instance{s.a, s.b} {
		st, body := inst.post(s.acme, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
			"client_id": {app.ID}}, "", "")
		if st != 400 || body["error"] != "invalid_grant" {
			t.Errorf("the old refresh token: %d %v", st, body)
		}
	}
	p = newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, app.ID, cb.url, "openid", "rc-2", p, "prompt", "none")), chromedp.WaitVisible(chromedp.CSS("#done")))
	if got := cb.take(); got.Get("error") != "login_required" {
		t.Errorf("the old session, prompt=none: %v", got)
	}
	run(t, ctx, chromedp.Navigate(authorizeURL(s, app.ID, cb.url, "openid", "rc-3", p)), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#email"), "rita@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), oldPassword), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")), chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#done")))
	got := cb.take()
	if got.Get("state") != "rc-3" || got.Get("code") == "" {
		t.Fatalf("sign-in with the new password: %v", got)
	}
	after := tokensFor(t, s, app.ID, cb.url, got.Get("code"), p.verifier)

	// The steps are events; no code, password or token is in one, or in a log line.
	out := s.run(t, "events", "--env", s.acme)
	for _, typ := range []string{"recovery.started", "recovery.passcode_failed", "recovery.verified", "recovery.completed",
		"user.password_changed", "mail.sent"} {
		if !strings.Contains(out, `"type":"`+typ+`"`) {
			t.Errorf("no %s event", typ)
		}
	}
	if !strings.Contains(out, `"reason":"password_changed"`) {
		t.Error("no session or grant was revoked for the password change")
	}
	// A code counts as leaked where it stands alone: inside a hash or a timestamp's
	// nanoseconds six digits in a row occur by chance.
	secrets := []*regexp.Regexp{regexp.MustCompile(`\b` + right + `\b`), regexp.MustCompile(`\b` + code + `\b`)}
	for _, v := range []string{oldPassword, newPassword, refreshToken, after["refresh_token"].(string)} {
		secrets = append(secrets, regexp.MustCompile(regexp.QuoteMeta(v)))
	}
	for _, secret := range secrets {
		if secret.MatchString(out) {
			t.Errorf("a secret reached the event log: %s", secret)
		}
		for _, inst := range []*instance{s.a, s.b} {
			if secret.MatchString(inst.output()) {
				t.Errorf("a secret reached the logs: %s", secret)
			}
		}
	}
}

// The recovery pages keep the registration pages' defences: a form from another origin, or
// without the browser's CSRF token, is refused; the steps share a per-IP budget with the
// login limit's numbers (10 per 60 s), apart from the login's own.
func TestRecoveryDefences(t *testing.T) {
	t.Parallel()
	s := startOne(t, "PAYLENT_RATE_LIMITS=on")
	issuer := s.a.issuer(s.acme)
	pc := newPageClient(t, issuer)
	resp, page := pc.do("GET", issuer+"/login", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `href="/recover"`) {
		t.Fatalf("the login page has no \"Forgot password?\" link: %d", resp.StatusCode)
	}
	resp, page = pc.do("GET", issuer+"/recover", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("GET /recover: %d %v", resp.StatusCode, resp.Header)
	}
	f := fields(page)
	ask := func(pc *pageClient, f url.Values, header ...string) int {
		resp, _ := pc.do("POST", issuer+"/recover", url.Values{"_csrf": {f.Get("_csrf")}, "email": {"someone@example.com"}}, header...)
		return resp.StatusCode
	}
	if st := ask(pc, f, "Origin", "https://evil.example.com"); st != 403 {
		t.Errorf("a cross-site recovery post: %d", st)
	}
	if st := ask(newPageClient(t, issuer), f); st != 403 {
		t.Errorf("another browser's CSRF token: %d", st)
	}
	allowed := 0
	for i := 0; i < 12; i++ {
		switch st := ask(pc, f); st {
		case 200:
			allowed++
		case 429:
		default:
			t.Fatalf("request %d: %d", i, st)
		}
	}
	// The two refused posts above counted too (the limit comes before the form is read).
	if allowed != 8 {
		t.Errorf("%d of 12 recovery requests allowed after 2 refused ones, want 8", allowed)
	}
	if resp, _ := pc.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "email": {"someone@example.com"},
		"password": {"not the password"}}); resp.StatusCode != 401 {
		t.Errorf("the login's budget was spent by recovery requests: %d", resp.StatusCode)
	}
}
