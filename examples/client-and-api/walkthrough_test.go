// Package clientandapi holds only the test of the TypeScript Client & API example: it walks
// the example's README literally, as a newcomer would.
package clientandapi

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paylent/paylent/examples/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

// The README, step by step: a fresh copy of the example (no node_modules, no .env) and
// `npm ci`, while the embedded default of `paylent serve` starts; the dashboard steps in
// Chromium exactly as listed (sign in as the seeded operator, examples-dev, Register
// Application "My Documents App" with only the listed fields, copy the secret, Create Scope
// read:documents and write:documents with their descriptions and nothing else); .env from
// .env.example; `npm run dev`; log in as the demo user (a first Deny shows the error page
// with Paylent's error_description), approve; profile and documents; the API's 403 for
// write:documents; a refresh; log out (RP-initiated). Every page is photographed into
// docs/screenshots/example-ts, and the time from the fresh copy to the documents page is
// logged.
func TestDocumentedWalkthrough(t *testing.T) {
	start := time.Now()
	if testing.Short() {
		t.Skip("-short: no npm ci, no Paylent")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatalf("Node and npm are needed for the TypeScript example (scripts/deps.sh installs them): %v", err)
	}
	dir := freshCopy(t)
	installed := make(chan error, 1)
	go func() {
		err := npm(dir, "ci", "--no-audit", "--no-fund")
		if err == nil {
			err = npm(dir, "run", "typecheck") // tsc --noEmit: the example's types hold
		}
		installed <- err
	}()

	p := exampletest.Start(t)
	t.Logf("Paylent ready after %s", time.Since(start).Round(time.Millisecond))
	ctx := exampletest.Browser(t)
	exampletest.Do(t, ctx, chromedp.EmulateViewport(1100, 800))
	sh := newShooter(t, ctx)

	// The app runs on free ports, not 3000 and 4100 (this machine may be running other
	// things): the redirect URI registered names this run's port, the only deviation.
	clientPort, apiPort := exampletest.FreePort(t), exampletest.FreePort(t)
	appURL := fmt.Sprintf("http://localhost:%d", clientPort)
	creds := dashboardSteps(t, ctx, sh, p, appURL+"/callback")

	// .env: a copy of .env.example with the secret pasted in.
	writeDotEnv(t, dir, map[string]string{"ISSUER": p.Issuer(), "CLIENT_ID": creds.ID, "CLIENT_SECRET": creds.Secret,
		"REDIRECT_URI": appURL + "/callback"})
	if err := <-installed; err != nil {
		t.Fatalf("npm ci: %v", err)
	}
	t.Logf("npm ci done, dashboard steps done after %s", time.Since(start).Round(time.Millisecond))
	runDev(t, dir, clientPort, apiPort)

	// Log in; deny once: the app shows Paylent's error and its description.
	exampletest.Do(t, ctx, chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.CSS("#login")))
	if h1, button := exampletest.Text(ctx, "h1"), exampletest.Text(ctx, "#login"); h1 != "Third-Party Documents App" || button != "Log in with Paylent" {
		t.Errorf("home page: %q, %q", h1, button)
	}
	sh.shot("app-home")
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#password")))
	sh.shot("paylent-login")
	exampletest.SignIn(t, ctx, "demo@example.com", p.DemoPassword)
	exampletest.Do(t, ctx, chromedp.WaitVisible(chromedp.CSS("button[value=approve]")))
	for _, want := range []string{"My Documents App", "Read documents"} {
		if !strings.Contains(exampletest.Text(ctx, "main"), want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	sh.shot("paylent-consent")
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("button[value=deny]")), chromedp.WaitVisible(chromedp.CSS("#problem")))
	if code, desc := exampletest.Text(ctx, "#error-code"), exampletest.Text(ctx, "#error-description"); code != "access_denied" || desc == "" {
		t.Errorf("error page: %q %q", code, desc)
	}
	sh.shot("app-error-access-denied")

	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("button[value=approve]")),
		chromedp.Click(chromedp.CSS("button[value=approve]")), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	if got := exampletest.Text(ctx, "#signed-in"); !strings.Contains(got, "Demo User") {
		t.Errorf("signed in as %q", got)
	}
	for _, link := range []string{"#profile-link", "#documents-link"} {
		if exampletest.Text(ctx, link) == "" {
			t.Errorf("the menu lacks %s", link)
		}
	}
	if cookies, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.cookie")); cookies != "" {
		t.Errorf("scripts can read cookies: %q", cookies)
	}
	sh.shot("app-signed-in")

	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#profile-link")), chromedp.WaitVisible(chromedp.CSS("#api-profile")))
	if got := exampletest.Text(ctx, "#api-scopes"); got != "openid profile read:documents" {
		t.Errorf("scopes %q", got)
	}
	if got := exampletest.Text(ctx, "#api-client"); got != creds.ID {
		t.Errorf("client %q", got)
	}
	if got := exampletest.Text(ctx, "#api-audience"); got != p.Issuer() {
		t.Errorf("audience %q: without an API, tokens for custom scopes carry the issuer", got)
	}
	if got := exampletest.Text(ctx, "#id-token-profile"); !strings.Contains(got, "Demo User") {
		t.Errorf("ID token profile %q", got)
	}
	sh.shot("app-profile")

	exampletest.Do(t, ctx, chromedp.Navigate(appURL+"/"), chromedp.WaitVisible(chromedp.CSS("#documents-link")),
		chromedp.Click(chromedp.CSS("#documents-link")), chromedp.WaitVisible(chromedp.CSS("#documents")))
	if got := exampletest.Text(ctx, "#documents"); !strings.Contains(got, "Welcome to the Documents API") {
		t.Errorf("documents: %q", got)
	}
	t.Logf("from a fresh copy of the example to the documents page: %s", time.Since(start).Round(time.Millisecond))
	sh.shot("app-documents")

	// write:documents: this app never asks for it; the API answers 403 and the app shows it.
	exampletest.Do(t, ctx, chromedp.Navigate(appURL+"/documents/new"), chromedp.WaitVisible(chromedp.CSS("#create")),
		chromedp.Click(chromedp.CSS("#create")), chromedp.WaitVisible(chromedp.CSS("#api-error")))
	challenge := exampletest.Text(ctx, "#api-challenge")
	if exampletest.Text(ctx, "#api-status") != "403 Forbidden" || exampletest.Text(ctx, "#api-error-code") != "insufficient_scope" ||
		!strings.Contains(challenge, `scope="write:documents"`) {
		t.Errorf("403 page: %q", exampletest.Text(ctx, "#api-error"))
	}
	sh.shot("app-403-write-documents")

	// Refresh: a new access token (and a rotated refresh token), then the API still answers.
	exampletest.Do(t, ctx, chromedp.Navigate(appURL+"/"), chromedp.WaitVisible(chromedp.CSS("#refresh")),
		chromedp.Click(chromedp.CSS("#refresh")), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := exampletest.Text(ctx, "#notice"); !strings.Contains(got, "refreshed") {
		t.Errorf("refresh: %q", got)
	}
	sh.shot("app-refreshed")
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#documents-link")), chromedp.WaitVisible(chromedp.CSS("#documents")))

	// Log out: Paylent ends its session and says so; the next login asks for the password.
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#logout")))
	exampletest.Eventually(t, 10*time.Second, "Paylent's signed-out page", func() bool {
		return strings.Contains(exampletest.Text(ctx, "main"), "Signed out") || strings.Contains(exampletest.Text(ctx, "body"), "signed out")
	})
	sh.shot("paylent-signed-out")
	exampletest.Do(t, ctx, chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#password")))
	t.Logf("walkthrough done in %s", time.Since(start).Round(time.Millisecond))
}

// dashboardSteps does the README's dashboard steps and returns the app's credentials as the
// page after Register Application shows them.
func dashboardSteps(t *testing.T, ctx context.Context, sh *shooter, p *exampletest.Paylent, redirectURI string) exampletest.Credentials {
	t.Helper()
	if p.OperatorPassword == "" {
		t.Fatal("paylent serve did not print the operator's password")
	}
	exampletest.Do(t, ctx, chromedp.Navigate(p.DashboardURL()), chromedp.WaitVisible(chromedp.CSS("#signin")))
	sh.shot("dashboard-sign-in")
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "operator@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), p.OperatorPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#env-switch")))
	// Pick examples-dev in the environment switcher (the seeded account's only environment).
	exampletest.Do(t, ctx, chromedp.Navigate(p.DashboardURL()+"/e/"+exampletest.Env+"/clients"), chromedp.WaitVisible(chromedp.CSS("#register-application")))

	// Clients → Register Application: name, Confidential, Authorization Code and Refresh
	// Token, the redirect URI. Nothing else is touched.
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#register-application")), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "My Documents App"),
		chromedp.Click(chromedp.CSS(`input[name=type][value=confidential]`)))
	ensureChecked(t, ctx, `input[name=grant_types][value=authorization_code]`)
	ensureChecked(t, ctx, `input[name=grant_types][value=refresh_token]`)
	exampletest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#redirect_uris"), redirectURI))
	sh.shot("dashboard-register-application")
	exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#create-client")), chromedp.WaitVisible(chromedp.CSS("#client-secret")))
	var c exampletest.Credentials
	c.ID = exampletest.Text(ctx, "#client-id")
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("client-secret").value`))
	if err != nil || c.ID == "" || v == "" {
		t.Fatalf("client id %q, secret: %v", c.ID, err)
	}
	c.Secret = v
	sh.shot("dashboard-client-secret")

	// Scopes → Create Scope, twice: name and description only.
	for _, sc := range [][2]string{{"read:documents", "Read documents"}, {"write:documents", "Write documents"}} {
		exampletest.Do(t, ctx, chromedp.Navigate(p.DashboardURL()+"/e/"+exampletest.Env+"/scopes"), chromedp.WaitVisible(chromedp.CSS("#create-scope")),
			chromedp.Click(chromedp.CSS("#create-scope")), chromedp.WaitVisible(chromedp.CSS("#description")),
			chromedp.SendKeys(chromedp.CSS("#name"), sc[0]), chromedp.SendKeys(chromedp.CSS("#description"), sc[1]))
		if sc[0] == "read:documents" {
			sh.shot("dashboard-create-scope")
		}
		exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS("#save-scope")), chromedp.WaitVisible(chromedp.CSS("#scopes")))
	}
	sh.shot("dashboard-scopes")
	return c
}

func ensureChecked(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+sel+`').checked`))
	if err != nil {
		t.Fatal(err)
	}
	if !checked {
		exampletest.Do(t, ctx, chromedp.Click(chromedp.CSS(sel)))
	}
}

// freshCopy copies the example as a clone has it (no node_modules, no .env) to a temporary
// directory: the test never touches a developer's own .env or node_modules.
func freshCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && (d.Name() == "node_modules"):
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dir, path), 0o755)
		case d.Name() == ".env" || strings.HasSuffix(d.Name(), ".go"):
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeDotEnv copies .env.example to .env, setting the values given.
func writeDotEnv(t *testing.T, dir string, values map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if k, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			if v, ok := values[k]; ok {
				lines[i] = k + "=" + v
				delete(values, k)
			}
		}
	}
	if len(values) > 0 {
		t.Fatalf(".env.example lacks %v", values)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func npm(dir string, args ...string) error {
	cmd := exec.Command("npm", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// output collects a child's output for the log and for waiting on lines.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// runDev runs `npm run dev` with PORT and API_PORT (its own process group, stopped when the
// test ends) and waits until both servers say they are serving.
func runDev(t *testing.T, dir string, clientPort, apiPort int) {
	t.Helper()
	var out output
	cmd := exec.Command("npm", "run", "dev")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", fmt.Sprintf("PORT=%d", clientPort), fmt.Sprintf("API_PORT=%d", apiPort))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) //nolint:errcheck // it may be gone
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // it may be gone
			<-exited
		}
		t.Logf("npm run dev output:\n%s", out.String())
	})
	exampletest.Eventually(t, 60*time.Second, "npm run dev: both servers serving", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("npm run dev exited: %v\n%s", err, out.String())
		default:
		}
		s := out.String()
		return strings.Contains(s, "Documents API is serving") && strings.Contains(s, "Third-Party Documents App is serving")
	})
}

// shooter saves full-page screenshots, numbered in the order taken, into
// docs/screenshots/example-ts (replacing the previous run's).
type shooter struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func newShooter(t *testing.T, ctx context.Context) *shooter {
	dir := filepath.Join("..", "..", "docs", "screenshots", "example-ts")
	old, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &shooter{t: t, ctx: ctx, dir: dir}
}

func (s *shooter) shot(name string) {
	s.t.Helper()
	s.n++
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name)), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}
