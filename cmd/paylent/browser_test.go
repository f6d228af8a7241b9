package main_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// browser is a tab of the package's headless Chromium (Debian's package; scripts/test.sh
// installs it) in a browser context of its own: cookies, storage and WebAuthn authenticators
// are the test's alone. One Chromium serves every test: starting one costs seconds of CPU.
func browser(t *testing.T) context.Context {
	t.Helper()
	chromium.once.Do(startChromium)
	if chromium.err != nil {
		t.Fatal(chromium.err)
	}
	ctx, cancel := chromedp.NewContext(chromium.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

var chromium struct {
	once sync.Once
	ctx  context.Context
	err  error
	stop func()
}

func startChromium() {
	path, err := exec.LookPath("chromium")
	if err != nil {
		chromium.err = fmt.Errorf("chromium is needed for the browser tests (apt-get install chromium; scripts/test.sh does it): %w", err)
		return
	}
	dir, err := os.MkdirTemp("", "paylent-chromium-*")
	if err != nil {
		chromium.err = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	chromium.ctx = ctx
	chromium.stop = func() { cancel(); cancelAlloc(); os.RemoveAll(dir) }
	if err := chromedp.Do(ctx); err != nil {
		chromium.err = fmt.Errorf("start Chromium: %w", err)
	}
}

// stopChromium ends the package's Chromium after its tests (TestMain).
func stopChromium() {
	if chromium.stop != nil {
		chromium.stop()
	}
}

// callbackServer is the client application's redirect target: it records what arrives.
type callbackServer struct {
	url  string
	mu   sync.Mutex
	last url.Values
}

func newCallbackServer(t *testing.T) *callbackServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb := &callbackServer{url: fmt.Sprintf("http://localhost:%d/callback", ln.Addr().(*net.TCPAddr).Port)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r) // the browser asks for /favicon.ico too
			return
		}
		cb.mu.Lock()
		cb.last = r.URL.Query()
		cb.mu.Unlock()
		fmt.Fprint(w, "<!doctype html><title>callback</title><p id=done>back in the app</p>")
	})}
	go srv.Serve(ln) //nolint:errcheck // closed at cleanup
	t.Cleanup(func() { srv.Close() })
	return cb
}

func (cb *callbackServer) take() url.Values {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	v := cb.last
	cb.last = nil
	return v
}

// run runs browser steps with a deadline.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body := text(ctx, "body")
		t.Fatalf("browser: %v\nat %s\n%s", err, loc, body)
	}
}

// text is the text of the first element matching a CSS selector.
func text(ctx context.Context, sel string) string {
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
	return s
}

type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := oauth2.GenerateVerifier()
	return pkce{verifier: v, challenge: oauth2.S256ChallengeFromVerifier(v)}
}

func authorizeURL(s *stack, clientID, redirect, scope, state string, p pkce, extra ...string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {scope},
		"state": {state}, "code_challenge": {p.challenge}, "code_challenge_method": {"S256"}, "nonce": {"nonce-" + state}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return s.a.issuer(s.acme) + "/oauth/authorize?" + q.Encode()
}

// The person's path: authorize → login → consent → back to the app with a code and the
// state → tokens; a second app needs no second login; prompt=login asks again; deny; logout.
func TestBrowserLoginConsentAndLogout(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	cb := newCallbackServer(t)
	docs := s.client(t, s.acme, "--name", "Third-Party Documents App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", cb.url, "--scope", "openid", "--scope", "profile", "--scope", "read:documents",
		"--post-logout-redirect-uri", cb.url)
	other := s.client(t, s.acme, "--name", "Second App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", cb.url, "--scope", "openid")
	s.userJSON(t, s.acme, "ada@example.com", "Ada")
	ctx := browser(t)

	p := newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid profile read:documents", "st-1", p)),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "wrong password"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("button[value=approve]")))
	consentText := text(ctx, "main")
	for _, want := range []string{"Third-Party Documents App", "Read documents", "See your name and profile", "ada@example.com"} {
		if !strings.Contains(consentText, want) {
			t.Errorf("consent page lacks %q:\n%s", want, consentText)
		}
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("button[value=approve]")), chromedp.WaitVisible(chromedp.CSS("#done")))
	got := cb.take()
	if got.Get("state") != "st-1" || got.Get("code") == "" || got.Get("iss") != s.a.issuer(s.acme) {
		t.Fatalf("callback: %v", got)
	}
	idToken := exchange(t, s, docs.ID, cb.url, got.Get("code"), p.verifier)

	// The same app again: consent remembered, no page at all.
	p = newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid read:documents", "st-2", p)), chromedp.WaitVisible(chromedp.CSS("#done")))
	if got := cb.take(); got.Get("state") != "st-2" || got.Get("code") == "" {
		t.Errorf("remembered consent: %v", got)
	}
	// A second app: no second login, but its own consent; denied.
	p = newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, other.ID, cb.url, "openid", "st-3", p)),
		chromedp.WaitVisible(chromedp.CSS("button[value=deny]")), chromedp.Click(chromedp.CSS("button[value=deny]")),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	if got := cb.take(); got.Get("error") != "access_denied" || got.Get("state") != "st-3" || got.Get("code") != "" {
		t.Errorf("deny: %v", got)
	}
	// prompt=login, and a max_age shorter than the session's age, ask for the password again.
	p = newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid", "st-4", p, "prompt", "login")),
		chromedp.WaitVisible(chromedp.CSS("#password")))
	time.Sleep(1100 * time.Millisecond) // the session is now more than a second old
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid", "st-4b", p, "max_age", "1")),
		chromedp.WaitVisible(chromedp.CSS("#password")))
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid", "st-4c", p, "max_age", "3600")), chromedp.WaitVisible(chromedp.CSS("#done")))
	if got := cb.take(); got.Get("state") != "st-4c" || got.Get("code") == "" {
		t.Errorf("max_age within the session's age: %v", got)
	}

	// Without an id_token_hint, logout asks for confirmation (a link elsewhere cannot sign
	// anyone out); with one, the session ends at once and the browser returns to the app.
	confirm := s.a.issuer(s.acme) + "/oauth/logout?" + url.Values{"client_id": {docs.ID}}.Encode()
	run(t, ctx, chromedp.Navigate(confirm), chromedp.WaitVisible(chromedp.CSS("form[action='/oauth/logout'] button")))
	logout := s.a.issuer(s.acme) + "/oauth/logout?" + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {cb.url}, "state": {"bye"}}.Encode()
	run(t, ctx, chromedp.Navigate(logout), chromedp.WaitVisible(chromedp.CSS("#done")))
	if got := cb.take(); got.Get("state") != "bye" {
		t.Errorf("post-logout redirect: %v", got)
	}
	p = newPKCE()
	run(t, ctx, chromedp.Navigate(authorizeURL(s, docs.ID, cb.url, "openid", "st-5", p, "prompt", "none")), chromedp.WaitVisible(chromedp.CSS("#done")))
	if got := cb.take(); got.Get("error") != "login_required" {
		t.Errorf("after logout, prompt=none: %v", got)
	}
}

// exchange redeems a code as the app would and returns the ID token.
func exchange(t *testing.T, s *stack, clientID, redirect, code, verifier string) string {
	t.Helper()
	st, body := s.b.post(s.acme, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID},
		"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}, "", "")
	if st != 200 || body["access_token"] == nil || body["id_token"] == nil {
		t.Fatalf("token exchange: %d %v", st, body)
	}
	return body["id_token"].(string)
}
