package main_test

import (
	"context"
	"encoding/base64"
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

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// artifacts is where browser tests leave screenshots for a person to look at:
// $PAYLENT_ARTIFACTS, or artifacts/ at the repository's root.
func artifacts(t *testing.T, name string) string {
	dir := os.Getenv("PAYLENT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	dir = filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shooter saves full-page screenshots, numbered in the order taken, and checks each page
// with axe-core (WCAG 2.1 A and AA rules): a serious or critical violation fails the test.
type shooter struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
	axe string
}

// axeRun is the script that runs axe-core on the page and returns its serious violations.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r =>
  r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => v.id + ": " + v.help + " — " +
    v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")))`

func (s *shooter) accessible(name string) {
	s.t.Helper()
	if s.axe == "" {
		b, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
		if err != nil {
			s.t.Fatal(err)
		}
		s.axe = string(b)
	}
	if _, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool]("typeof axe !== 'undefined' || (() => { "+s.axe+"; return true })()")); err != nil {
		s.t.Fatalf("load axe on %s: %v", name, err)
	}
	problems, err := chromedp.Run(s.ctx, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		s.t.Fatalf("axe on %s: %v", name, err)
	}
	for _, p := range problems {
		s.t.Errorf("accessibility of %s: %s", name, p)
	}
}

func (s *shooter) shot(name string) {
	s.t.Helper()
	s.accessible(name)
	s.n++
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// eval runs a script in the page and returns its result.
func eval[T any](t *testing.T, ctx context.Context, script string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script, opts...))
	if err != nil {
		t.Fatalf("evaluate %q: %v", script, err)
	}
	return v
}

// requests records the URLs the browser asked for under a prefix (the app's callback, which
// need not be served: the code is in the URL).
func requests(t *testing.T, ctx context.Context, prefix string) func() []string {
	var mu sync.Mutex
	var seen []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasPrefix(e.Request.URL, prefix) {
			mu.Lock()
			seen = append(seen, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// The tenant's setup, click by click, as the issue describes it: sign in to the dashboard,
// pick examples-dev, register "My Documents App", copy its secret, create read:documents and
// write:documents (the form allows them to the client, ticked) — then a user signs in to the app through the
// authorize flow with those scopes, the operator sees the session and revokes it. Every page
// is photographed into artifacts/dashboard for a person to check.
func TestDashboardWalkthrough(t *testing.T) {
	t.Parallel()
	s := startOne(t) // one instance: its dev outbox is the mailbox the browser sees
	s.run(t, "env", "create", "--account", "examples", "--slug", "examples-dev", "--name", "Examples (development)")
	email, password := s.operator(t, "examples", "operator@example.com")
	s.run(t, "operators", "create", "--account", "acme", "--email", "operator@example.com") // a second account: the switcher has a choice
	s.run(t, "users", "create", "--env", "examples-dev", "--email", "ada@example.com", "--name", "Ada Lovelace", "--password", "correct horse battery")
	dashURL := s.a.dashboardURL()
	const appCallback = "http://localhost:3000/callback"

	ctx := browser(t)
	calls := requests(t, ctx, appCallback)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{Origin: dashURL,
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted,
			BrowserContextID: chromedp.FromContext(ctx).BrowserContextID}); err != nil {
			t.Fatalf("clipboard permission: %v", err)
		}
	}
	sh := &shooter{t: t, ctx: ctx, dir: artifacts(t, "dashboard")}

	// Sign in: the dashboard sends the operator to the operators' environment's login.
	run(t, ctx, chromedp.Navigate(dashURL), chromedp.WaitVisible(chromedp.CSS("#signin")))
	sh.shot("sign-in")
	run(t, ctx, chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#email")))
	sh.shot("operator-login")
	// The dashboard is a first-party client of the operators' environment: no consent screen.
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#register-application")))

	// Pick examples-dev in the switcher.
	eval[bool](t, ctx, `(() => { const s = document.getElementById("env-switch"); s.value = "examples-dev"; s.dispatchEvent(new Event("change")); return true })()`)
	eventually(t, 10*time.Second, "the switcher opens examples-dev", func() bool {
		return eval[string](t, ctx, "location.pathname") == "/e/examples-dev/clients" && eval[string](t, ctx, "document.readyState") == "complete"
	})
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#register-application")))
	sh.shot("clients-empty")

	// Register Application.
	run(t, ctx, chromedp.Click(chromedp.CSS("#register-application")), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "My Documents App"),
		chromedp.Click(chromedp.CSS(`input[name=type][value=confidential]`)),
		chromedp.Click(chromedp.CSS(`input[name=grant_types][value=refresh_token]`)),
		chromedp.SendKeys(chromedp.CSS("#redirect_uris"), appCallback))
	if !eval[bool](t, ctx, `document.querySelector("input[name=grant_types][value=authorization_code]").checked`) {
		t.Fatal("Authorization Code is not checked by default")
	}
	sh.shot("register-application")
	run(t, ctx, chromedp.Click(chromedp.CSS("#create-client")), chromedp.WaitVisible(chromedp.CSS("#client-secret")))
	sh.shot("client-secret")
	clientID := text(ctx, "#client-id")
	secret := eval[string](t, ctx, `document.getElementById("client-secret").value`)
	if clientID == "" || len(secret) < 40 {
		t.Fatalf("client id %q, secret of %d characters", clientID, len(secret))
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("#copy-secret")), chromedp.WaitVisible(chromedp.CSS(`#copy-secret[data-copied="true"]`)))
	if copied := eval[string](t, ctx, "navigator.clipboard.readText()", chromedp.EvalAwaitPromise); copied != secret {
		t.Fatalf("clipboard holds %q", copied)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("#to-client")), chromedp.WaitVisible(chromedp.CSS("#redirect-uris")))
	if got := strings.TrimSpace(text(ctx, "#redirect-uris")); got != appCallback {
		t.Fatalf("redirect URIs on the detail page: %q", got)
	}
	sh.shot("client-detail")

	// Scopes: the standard ones are there; create the two custom ones.
	run(t, ctx, chromedp.Click(chromedp.CSS(`nav a[href$="/scopes"]`)), chromedp.WaitVisible(chromedp.CSS("#create-scope")))
	for _, std := range []string{"openid", "profile", "email"} {
		if !strings.Contains(text(ctx, "#scopes"), std) {
			t.Fatalf("scopes page lacks %s", std)
		}
	}
	// The API the scopes belong to: its identifier becomes the tokens' audience.
	run(t, ctx, chromedp.SetValue(chromedp.CSS("#api-identifier"), "http://localhost:4100"),
		chromedp.SendKeys(chromedp.CSS("#api-name"), "Documents API"), chromedp.Click(chromedp.CSS("#save-api")),
		chromedp.WaitVisible(chromedp.CSS("#apis")))
	for _, sc := range [][2]string{{"read:documents", "Read documents"}, {"write:documents", "Write documents"}} {
		run(t, ctx, chromedp.Click(chromedp.CSS("#create-scope")), chromedp.WaitVisible(chromedp.CSS("#name")),
			chromedp.SendKeys(chromedp.CSS("#name"), sc[0]), chromedp.SendKeys(chromedp.CSS("#description"), sc[1]),
			chromedp.SetValue(chromedp.CSS("#api"), "http://localhost:4100"))
		// The form offers the scope to the app that signs users in, ticked.
		if !eval[bool](t, ctx, `document.querySelector('input[name=clients][value="`+clientID+`"]').checked`) {
			t.Fatalf("Create Scope %s does not tick My Documents App", sc[0])
		}
		run(t, ctx, chromedp.Click(chromedp.CSS("#save-scope")), chromedp.WaitVisible(chromedp.CSS("#scopes")))
		if !strings.Contains(text(ctx, "#scopes"), sc[0]) {
			t.Fatalf("%s not listed after creation", sc[0])
		}
	}
	sh.shot("scopes")

	// The client is allowed the new scopes: Create Scope ticked it.
	run(t, ctx, chromedp.Navigate(dashURL+"/e/examples-dev/clients/"+clientID), chromedp.WaitVisible(chromedp.CSS("#save-client")))
	for _, sc := range []string{"read:documents", "write:documents"} {
		if !eval[bool](t, ctx, `document.querySelector('input[name=scopes][value="`+sc+`"]').checked`) {
			t.Fatalf("the client is not allowed %s", sc)
		}
	}

	// A user signs in to the app with the new client and scopes.
	p := newPKCE()
	authorize := s.a.issuer("examples-dev") + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID},
		"redirect_uri": {appCallback}, "scope": {"openid profile read:documents write:documents"}, "state": {"walk"},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}.Encode()
	run(t, ctx, chromedp.Navigate(authorize), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("button[value=approve]")))
	for _, want := range []string{"My Documents App", "Read documents", "Write documents"} {
		if !strings.Contains(text(ctx, "main"), want) {
			t.Fatalf("consent lacks %q", want)
		}
	}
	sh.shot("user-consent")
	run(t, ctx, chromedp.Click(chromedp.CSS("button[value=approve]")))
	var code string
	eventually(t, 10*time.Second, "the browser reaches the app's callback", func() bool {
		for _, u := range calls() {
			q, _ := url.Parse(u)
			if q.Query().Get("state") == "walk" {
				code = q.Query().Get("code")
			}
		}
		return code != ""
	})
	st, tok := s.b.post("examples-dev", "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {appCallback}, "code_verifier": {p.verifier}}, clientID, secret)
	if st != http.StatusOK || !strings.Contains(tok["scope"].(string), "read:documents") || !strings.Contains(tok["scope"].(string), "write:documents") ||
		tok["refresh_token"] == nil {
		t.Fatalf("token exchange with the dashboard's client and secret: %d %v", st, tok)
	}
	if aud := fmt.Sprint(jwtClaims(t, tok["access_token"].(string))["aud"]); aud != "[http://localhost:4100]" {
		t.Errorf("access token audience %v, want the API registered in the dashboard", aud)
	}

	// The operator sees the user's session, and the other pages.
	run(t, ctx, chromedp.Navigate(dashURL+"/e/examples-dev/sessions"), chromedp.WaitVisible(chromedp.CSS("main table")))
	if page := text(ctx, "main"); !strings.Contains(page, "ada@example.com") || !strings.Contains(page, "127.0.0.1") {
		t.Fatalf("sessions page lacks the user's session:\n%s", page)
	}
	sh.shot("sessions")
	for _, section := range []string{"users", "audit", "settings", "operators"} {
		run(t, ctx, chromedp.Navigate(dashURL+"/e/examples-dev/"+section), chromedp.WaitVisible(chromedp.CSS("main h1")))
		sh.shot(section)
	}
	// Someone signs up: the passcode mail appears in the dev mailbox.
	if st, _, body := s.a.postRaw("examples-dev", "/register", "application/json", `{"email":"grace@example.com"}`, "", ""); st != http.StatusAccepted {
		t.Fatalf("register: %d %s", st, body)
	}
	eventually(t, 15*time.Second, "the passcode mail in the dev outbox", func() bool {
		files, _ := filepath.Glob(filepath.Join(s.a.dataDir, "outbox", "*.eml"))
		return len(files) > 0
	})
	run(t, ctx, chromedp.Navigate(dashURL+"/e/examples-dev/mailbox"), chromedp.WaitVisible(chromedp.CSS("#mailbox")))
	if !strings.Contains(text(ctx, "#mailbox"), "grace@example.com") {
		t.Fatalf("the mailbox lacks the passcode mail: %s", text(ctx, "main"))
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("main details summary")))
	sh.shot("mailbox")
	// Revoke the session: the user's browser must sign in again on its next request.
	run(t, ctx, chromedp.Navigate(dashURL+"/e/examples-dev/sessions"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/revoke"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/revoke"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
	run(t, ctx, chromedp.Navigate(authorize), chromedp.WaitVisible(chromedp.CSS("#email")))

	// On a phone.
	run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(dashURL+"/e/examples-dev/clients"), chromedp.WaitVisible(chromedp.CSS("#clients")))
	if w := eval[float64](t, ctx, "document.documentElement.scrollWidth"); w > 390 {
		t.Errorf("the clients page scrolls sideways on a phone: %v px wide", w)
	}
	sh.shot("phone-clients")
	run(t, ctx, chromedp.Navigate(dashURL+"/e/examples-dev/clients/"+clientID), chromedp.WaitVisible(chromedp.CSS("#save-client")))
	sh.shot("phone-client")

	checkSetupEvents(t, s, clientID)
}

// checkSetupEvents: the dashboard wrote the events the Management API writes for the same
// setup (compared field by field, ids aside), each with the operator as its actor.
func checkSetupEvents(t *testing.T, s *stack, clientID string) {
	t.Helper()
	s.run(t, "env", "create", "--account", "examples", "--slug", "examples-api")
	api := &mgmtClient{t: t, inst: s.a, env: "examples-api", token: s.mgmtToken(t, "examples-api", "admin:write")}
	client := map[string]any{"name": "My Documents App", "type": "confidential", "grant_types": []string{"authorization_code", "refresh_token"},
		"redirect_uris": []string{"http://localhost:3000/callback"}, "post_logout_redirect_uris": []string{}, "scopes": []string{"openid", "profile", "email"}}
	st, _, body := api.call("POST", "/clients", client)
	if st != http.StatusCreated {
		t.Fatalf("API create client: %d %v", st, body)
	}
	apiClient := body["client"].(map[string]any)["client_id"].(string)
	if st, _, body := api.call("POST", "/apis", map[string]string{"identifier": "http://localhost:4100", "name": "Documents API"}); st != http.StatusCreated {
		t.Fatalf("API create API: %d %v", st, body)
	}
	scopes := []string{"email", "openid", "profile"}
	for _, sc := range [][2]string{{"read:documents", "Read documents"}, {"write:documents", "Write documents"}} {
		if st, _, body := api.call("POST", "/scopes", map[string]string{"name": sc[0], "description": sc[1], "api": "http://localhost:4100"}); st != http.StatusCreated {
			t.Fatalf("API create scope: %d %v", st, body)
		}
		// What the dashboard's Create Scope does for the app it ticks.
		scopes = append(scopes, sc[0])
		client["scopes"] = scopes
		if st, _, body := api.call("PUT", "/clients/"+apiClient, client); st != http.StatusOK {
			t.Fatalf("API update client: %d %v", st, body)
		}
	}
	setup := func(env string) ([]string, []map[string]any) {
		var types []string
		var data []map[string]any
		for _, e := range ndjson(t, strings.NewReader(s.run(t, "events", "--env", env))) {
			typ := e["type"].(string)
			if !strings.HasPrefix(typ, "client.") && !strings.HasPrefix(typ, "scope.") && !strings.HasPrefix(typ, "resource.") {
				continue
			}
			if c, _ := e["stream"].(string); strings.HasPrefix(typ, "client.") && !strings.HasSuffix(c, "/"+clientID) && !strings.HasSuffix(c, "/"+apiClient) {
				continue // the Management API's own client
			}
			d, _ := e["data"].(map[string]any)
			delete(d, "client_id")
			delete(d, "secret_hash")
			types, data = append(types, typ), append(data, d)
			if env == "examples-dev" {
				if a, _ := e["actor"].(map[string]any); a["kind"] != "operator" || a["id"] == "" {
					t.Errorf("%s by %v, not by the operator", typ, a)
				}
			}
		}
		return types, data
	}
	dashTypes, dashData := setup("examples-dev")
	apiTypes, apiData := setup("examples-api")
	want := []string{"client.registered", "resource.created", "scope.created", "client.updated", "scope.created", "client.updated"}
	if strings.Join(dashTypes, " ") != strings.Join(want, " ") || strings.Join(apiTypes, " ") != strings.Join(want, " ") {
		t.Fatalf("setup events: dashboard %v, API %v", dashTypes, apiTypes)
	}
	a, _ := json.Marshal(dashData)
	b, _ := json.Marshal(apiData)
	if string(a) != string(b) {
		t.Errorf("the dashboard and the API wrote different events:\n%s\n%s", a, b)
	}
}

// jwtClaims reads a JWT's claims without verifying it (the server's tests verify elsewhere).
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20s…", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(b, &claims) != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return claims
}
