package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paylent/paylent/domain/environment"
)

var passcodeLine = regexp.MustCompile(`Your code is (\d{6})`)

// passcode waits for the mail to an address in the outbox of whichever instance's mailer
// sent it, and returns its code ("" for a mail without one).
func (s *stack) passcode(t *testing.T, to string) string {
	t.Helper()
	var code string
	eventually(t, 15*time.Second, "passcode mail to "+to, func() bool {
		for _, inst := range []*instance{s.a, s.b} {
			files, _ := filepath.Glob(filepath.Join(inst.dataDir, "outbox", "*.eml"))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				if strings.Contains(string(b), "To: "+to+"\r\n") {
					if m := passcodeLine.FindStringSubmatch(string(b)); m != nil {
						code = m[1]
					}
					os.Remove(f) // consumed: the next mail to the address is the next one
					return true
				}
			}
		}
		return false
	})
	return code
}

// In the browser: sign-up with the emailed passcode from the login page of an authorization
// request; the new account is signed in at once, skips the offered passkey, approves, and
// the app gets its code.
func TestBrowserRegistration(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	cb := newCallbackServer(t)
	app := s.client(t, s.acme, "--name", "Docs", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", cb.url, "--scope", "openid", "--scope", "profile", "--scope", "read:documents")
	ctx := browser(t)
	p := newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, app.ID, cb.url, "openid profile read:documents", "reg-1", p)),
		chromedp.WaitVisible(chromedp.CSS("a[href^='/register']")), chromedp.Click(chromedp.CSS("a[href^='/register']")),
		chromedp.WaitVisible(chromedp.CSS("#email")), chromedp.SendKeys(chromedp.CSS("#email"), "New.User@Example.com"),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#passcode")))
	code := s.passcode(t, "new.user@example.com")
	if len(code) != 6 {
		t.Fatalf("no passcode in the mail")
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#passcode"), code), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#name")), chromedp.SendKeys(chromedp.CSS("#name"), "New User"),
		chromedp.SendKeys(chromedp.CSS("#password"), "a long enough secret"), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-skip")), chromedp.Click(chromedp.CSS("#passkey-skip")),
		chromedp.WaitVisible(chromedp.CSS("button[value=approve]")),
		chromedp.Click(chromedp.CSS("button[value=approve]")), chromedp.WaitVisible(chromedp.CSS("#done")))
	got := cb.take()
	if got.Get("state") != "reg-1" || got.Get("code") == "" {
		t.Fatalf("callback after registration: %v", got)
	}
	exchange(t, s, app.ID, cb.url, got.Get("code"), p.verifier)

	// Every step is an event with IP and user agent; no secret, code or password is in one.
	out := s.run(t, "events", "--env", s.acme)
	for _, typ := range []string{"registration.started", "mail.sent", "registration.verified", "registration.completed",
		"user.created", "session.started", "consent.granted", "authcode.issued", "authcode.redeemed"} {
		if !strings.Contains(out, `"type":"`+typ+`"`) {
			t.Errorf("no %s event", typ)
		}
	}
	for _, secret := range []string{code, "a long enough secret", got.Get("code")} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret reached the event log: %q", secret)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Type  string `json:"type"`
			Actor struct {
				Kind, IP, UserAgent string
			} `json:"actor"`
		}
		json.Unmarshal([]byte(line), &ev) //nolint:errcheck // NDJSON from our CLI
		if ev.Type == "session.started" && (ev.Actor.IP == "" || !strings.Contains(line, "HeadlessChrome")) {
			t.Errorf("session.started without IP or user agent: %s", line)
		}
	}
	for _, inst := range []*instance{s.a, s.b} {
		for _, secret := range []string{code, "a long enough secret", got.Get("code")} {
			if strings.Contains(inst.output(), secret) {
				t.Errorf("a secret reached the logs: %q", secret)
			}
		}
	}
}

// The JSON API: the same answer for a registered and a new address, five attempts per
// passcode, and a clear 403 when the environment closes registration.
func TestRegistrationAPI(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	s.userJSON(t, s.acme, "taken@example.com", "Taken")
	post := func(path string, body map[string]string) (int, map[string]any) {
		b, _ := json.Marshal(body)
		code, _, raw := s.a.postRaw(s.acme, path, "application/json", string(b), "", "")
		var m map[string]any
		json.Unmarshal(raw, &m) //nolint:errcheck // checked by callers
		return code, m
	}
	c1, taken := post("/register", map[string]string{"email": "taken@example.com"})
	c2, fresh := post("/register", map[string]string{"email": "fresh@example.com"})
	if c1 != 202 || c2 != 202 || taken["message"] != fresh["message"] || taken["registration_id"] == nil {
		t.Errorf("registered vs new address: %d %v / %d %v", c1, taken, c2, fresh)
	}
	if code := s.passcode(t, "taken@example.com"); code != "" {
		t.Error("a registered address got a passcode")
	}
	right := s.passcode(t, "fresh@example.com")
	id := fresh["registration_id"].(string)
	for i := 0; i < 5; i++ {
		if st, body := post("/register/verify", map[string]string{"registration_id": id, "passcode": "000000"}); st != 400 || (right == "000000") {
			t.Fatalf("wrong passcode %d: %d %v", i, st, body)
		}
	}
	if st, body := post("/register/verify", map[string]string{"registration_id": id, "passcode": right}); st != 400 || body["error"] != "passcode_expired" {
		t.Errorf("the right passcode after five wrong ones: %d %v", st, body)
	}
	// A new registration, the right code, then the user.
	_, again := post("/register", map[string]string{"email": "fresh@example.com"})
	code := s.passcode(t, "fresh@example.com")
	st, ver := post("/register/verify", map[string]string{"registration_id": again["registration_id"].(string), "passcode": code})
	if st != 200 || ver["registration_token"] == nil {
		t.Fatalf("verify: %d %v", st, ver)
	}
	tok := ver["registration_token"].(string)
	if st, body := post("/register/complete", map[string]string{"registration_token": tok, "name": "Fresh", "password": "password123"}); st != 400 {
		t.Errorf("a common password: %d %v", st, body)
	}
	if st, body := post("/register/complete", map[string]string{"registration_token": tok, "name": "Fresh", "password": "sufficiently long"}); st != 201 || body["email"] != "fresh@example.com" {
		t.Fatalf("complete: %d %v", st, body)
	}
	if st, _ := post("/register/complete", map[string]string{"registration_token": tok, "name": "Again", "password": "sufficiently long"}); st != 400 {
		t.Errorf("a token used twice: %d", st)
	}

	off := false
	ci := newCodeIssuer(t, s, time.Now)
	if _, err := ci.loop.Execute(t.Context(), environment.ChangeSettings{Slug: s.acme, Patch: environment.SettingsPatch{RegistrationEnabled: &off}}, operator); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "registration closed", func() bool {
		st, body := post("/register", map[string]string{"email": "late@example.com"})
		return st == 403 && body["error"] == "registration_disabled"
	})
}
