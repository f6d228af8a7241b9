package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paylent/paylent/examples/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

// syncBuffer is the program's output, written by login and read by the test meanwhile.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The README's steps against the real `paylent serve`: register a public client with the
// loopback redirect URI, run the login (no browser can be opened: it prints the URL), sign
// in and approve in a headless Chromium, and find the granted scopes printed and the tokens
// saved with mode 0600. A callback with another state is refused without ending the login.
func TestLoginWithLoopbackRedirect(t *testing.T) {
	p := exampletest.Start(t)
	redirect := "http://127.0.0.1/callback" // any port: the program listens where the system lets it
	client := p.CreateClient("--name", "Documents CLI", "--type", "public", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", redirect, "--scope", "openid", "--scope", "profile")
	tokenFile := filepath.Join(t.TempDir(), "config", "paylent-cli-login", "tokens.json")
	opts, err := parseFlags([]string{"--issuer", p.Issuer(), "--token-file", tokenFile, "--no-browser"},
		func(k string) string { return map[string]string{"CLIENT_ID": client.ID}[k] }, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := exampletest.Browser(t)

	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- login(t.Context(), opts, &out, func(string) error { return fmt.Errorf("no browser in tests") })
	}()
	var authURL string
	exampletest.Eventually(t, 10*time.Second, "the authorization URL printed", func() bool {
		_, rest, ok := strings.Cut(out.String(), "Open this address in your browser to sign in:\n\n  ")
		authURL, _, _ = strings.Cut(rest, "\n")
		return ok && strings.Contains(rest, "\n")
	})
	for _, want := range []string{p.Issuer() + "/oauth/authorize?", "code_challenge_method=S256", "code_challenge=", "nonce=", "state="} {
		if !strings.Contains(authURL, want) {
			t.Errorf("authorization URL lacks %q: %s", want, authURL)
		}
	}
	u, _ := url.Parse(authURL)
	listening, _ := url.Parse(u.Query().Get("redirect_uri"))
	if listening == nil || listening.Hostname() != "127.0.0.1" || listening.Port() == "" || listening.Path != "/callback" {
		t.Fatalf("redirect URI on an ephemeral loopback port expected: %s", authURL)
	}

	// Someone else's callback does not end the login.
	resp, err := http.Get(listening.String() + "?state=forged&code=stolen")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged callback: %d", resp.StatusCode)
	}

	exampletest.Do(t, ctx, chromedp.Navigate(authURL))
	exampletest.SignIn(t, ctx, "demo@example.com", p.DemoPassword)
	exampletest.Do(t, ctx, chromedp.WaitVisible(chromedp.CSS("button[value=approve]")),
		chromedp.Click(chromedp.CSS("button[value=approve]")), chromedp.WaitVisible(chromedp.CSS("#result")))
	if got := exampletest.Text(ctx, "#result"); got != "Signed in" {
		t.Errorf("callback page: %q", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("login: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("login did not finish:\n%s", out.String())
	}
	for _, want := range []string{"Signed in as Demo User.", "Granted scopes: openid profile\n", "Tokens saved to " + tokenFile} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	for path, mode := range map[string]os.FileMode{tokenFile: 0o600, filepath.Dir(tokenFile): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v, mode %v, want %v", path, err, fi.Mode(), mode)
		}
	}
	var saved savedTokens
	b, err := os.ReadFile(tokenFile)
	if err != nil || json.Unmarshal(b, &saved) != nil {
		t.Fatalf("token file: %v\n%s", err, b)
	}
	if saved.Issuer != p.Issuer() || saved.ClientID != client.ID || saved.AccessToken == "" || saved.RefreshToken == "" ||
		saved.IDToken == "" || saved.Scope != "openid profile" || saved.Subject == "" {
		t.Errorf("saved tokens: %+v", saved)
	}
	// The saved access token works: UserInfo names the demo user.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, p.Issuer()+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+saved.AccessToken)
	resp, err = exampletest.LoopbackClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct{ Sub, Name string }
	err = json.NewDecoder(resp.Body).Decode(&info)
	if err != nil || resp.StatusCode != http.StatusOK || info.Sub != saved.Subject || info.Name != "Demo User" {
		t.Errorf("userinfo: %d %+v %v", resp.StatusCode, info, err)
	}
}

func TestFlags(t *testing.T) {
	env := func(k string) string { return "" }
	if _, err := parseFlags(nil, env, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--client-id") {
		t.Errorf("no client id: %v", err)
	}
	o, err := parseFlags([]string{"--client-id", "abc"}, env, &bytes.Buffer{})
	if err != nil || o.port != 0 || o.issuer != "http://examples-dev.localhost:4000" || !strings.HasSuffix(o.tokenFile, filepath.Join("paylent-cli-login", "tokens.json")) {
		t.Errorf("defaults: %+v %v", o, err)
	}
}
