package main_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/web"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/tenants"
)

// followed is the page a form's redirect leads to (post/redirect/get).
func (d *dash) followed(resp *http.Response, _ string) string {
	d.t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		d.t.Fatalf("want a redirect, got %d", resp.StatusCode)
	}
	_, page := d.get(resp.Header.Get("Location"))
	return page
}

// A newcomer's first client, in Chromium: Register Application offers application types;
// the secret is on the page the form redirects to, once (a reload registers nothing and
// shows no secret); the client page has a Quickstart .env; a second client with the same
// name is warned about; the tab bar fits a phone; and the authorize error page for an
// unregistered redirect URI names nothing on shared infrastructure (this stack). Every page
// is photographed into artifacts/newcomer and checked with axe-core.
func TestDashboardNewcomer(t *testing.T) {
	t.Parallel()
	s := startOne(t)
	s.run(t, "env", "create", "--account", "examples", "--slug", "examples-dev", "--name", "Examples (development)")
	email, password := s.operator(t, "examples", "operator@example.com")
	dashURL := s.a.dashboardURL()
	ctx := browser(t)
	run(t, ctx, chromedp.EmulateViewport(1280, 900))
	sh := &shooter{t: t, ctx: ctx, dir: artifacts(t, "newcomer")}
	run(t, ctx, chromedp.Navigate(dashURL+"/login?return="+url.QueryEscape("/e/examples-dev/clients/new")), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#kind-web")))

	// Application types: "Web application" presets the form in place, keeping the name.
	eventually(t, 10*time.Second, "the form's script is loaded", func() bool {
		return eval[string](t, ctx, "document.readyState") == "complete"
	})
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#name"), "My Documents App"), chromedp.Click(chromedp.CSS("#kind-web")))
	for sel, want := range map[string]bool{`input[name=type][value=confidential]`: true, `input[name=grant_types][value=authorization_code]`: true,
		`input[name=grant_types][value=refresh_token]`: true, `input[name=grant_types][value=client_credentials]`: false} {
		if got := eval[bool](t, ctx, `document.querySelector("`+sel+`").checked`); got != want {
			t.Errorf("web application preset: %s checked %v", sel, got)
		}
	}
	if eval[string](t, ctx, `document.getElementById("name").value`) != "My Documents App" {
		t.Error("picking a type lost the name")
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#redirect_uris"), "http://localhost:3000/callback"))
	sh.shot("register-application-types")

	// Post/redirect/get: the secret once, with the quickstart.
	run(t, ctx, chromedp.Click(chromedp.CSS("#create-client")), chromedp.WaitVisible(chromedp.CSS("#client-secret")))
	path := eval[string](t, ctx, "location.pathname")
	secret := eval[string](t, ctx, `document.getElementById("client-secret").value`)
	clientID := text(ctx, "#client-id")
	if !strings.HasSuffix(path, "/clients/"+clientID+"/secret") || len(secret) < 40 || strings.Contains(eval[string](t, ctx, "location.href"), secret) {
		t.Fatalf("secret page at %q, secret of %d characters", path, len(secret))
	}
	if q := text(ctx, "#quickstart-env"); !strings.Contains(q, "CLIENT_SECRET="+secret) || !strings.Contains(q, "CLIENT_ID="+clientID) {
		t.Errorf("the quickstart after registering:\n%s", q)
	}
	sh.shot("client-secret-once")
	run(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#quickstart-env")))
	if eval[bool](t, ctx, `document.getElementById("client-secret") !== null`) || strings.Contains(text(ctx, "main"), secret) ||
		!strings.Contains(text(ctx, ".notice"), "shown once") {
		t.Fatalf("the reload shows the secret or no note:\n%s", text(ctx, "main"))
	}
	if q := text(ctx, "#quickstart-env"); !strings.Contains(q, "CLIENT_SECRET=(shown once at creation — rotate to get a new one)") ||
		!strings.Contains(q, "REDIRECT_URI=http://localhost:3000/callback") || !strings.Contains(q, "ISSUER="+s.a.issuer("examples-dev")) {
		t.Errorf("the quickstart on the client page:\n%s", q)
	}
	sh.shot("client-quickstart")
	run(t, ctx, chromedp.Navigate(dashURL+"/e/examples-dev/clients"), chromedp.WaitVisible(chromedp.CSS("#clients")))
	if n := eval[int](t, ctx, `document.querySelectorAll("#clients tbody tr").length`); n != 1 {
		t.Fatalf("%d clients after the reload, want 1", n)
	}

	// The same name again: a warning, and a choice.
	run(t, ctx, chromedp.Navigate(dashURL+"/e/examples-dev/clients/new?kind=web"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "My Documents App"), chromedp.SendKeys(chromedp.CSS("#redirect_uris"), "http://localhost:3000/callback"),
		chromedp.Click(chromedp.CSS("#create-client")), chromedp.WaitVisible(chromedp.CSS("#duplicate-warning")))
	if !strings.Contains(text(ctx, "#duplicate-warning"), clientID) {
		t.Errorf("the warning does not name the existing client:\n%s", text(ctx, "#duplicate-warning"))
	}
	sh.shot("duplicate-name-warning")

	// A phone: the tab bar shows every tab, none cut off or overlapping.
	run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(dashURL+"/e/examples-dev/clients"), chromedp.WaitVisible(chromedp.CSS("#clients")))
	if bad := eval[[]string](t, ctx, tabBarProblems); len(bad) > 0 {
		t.Errorf("the tab bar on a phone: %v", bad)
	}
	sh.shot("phone-tab-bar")

	// Shared infrastructure: the error page names no URI.
	redirectErrorPage(t, ctx, sh, s.a.issuer("examples-dev"), clientID, false)
}

// tabBarProblems lists tabs that are cut off by the screen's edge, overlap another tab, or
// make the page wider than the screen.
const tabBarProblems = `(() => {
  const out = [], w = document.documentElement.clientWidth;
  const tabs = Array.from(document.querySelectorAll("nav.sections a")).map(a => [a.textContent.trim(), a.getBoundingClientRect()]);
  if (document.documentElement.scrollWidth > w) { out.push("the page is " + document.documentElement.scrollWidth + " px wide"); }
  tabs.forEach(([name, r], i) => {
    if (r.left < 0 || r.right > w || r.width === 0) { out.push(name + " is cut off"); }
    tabs.slice(i + 1).forEach(([other, o]) => {
      if (r.left < o.right - 1 && o.left < r.right - 1 && r.top < o.bottom - 1 && o.top < r.bottom - 1) { out.push(name + " overlaps " + other); }
    });
  });
  return out;
})()`

// redirectErrorPage opens an authorize request with a redirect URI the client did not
// register and checks that the development details are shown exactly when dev is.
func redirectErrorPage(t *testing.T, ctx context.Context, sh *shooter, issuer, clientID string, dev bool) {
	t.Helper()
	const wrong = "http://localhost:3001/callback"
	run(t, ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(issuer+"/oauth/authorize?"+url.Values{"client_id": {clientID},
		"redirect_uri": {wrong}, "response_type": {"code"}, "scope": {"openid"}}.Encode()), chromedp.WaitVisible(chromedp.CSS("h1")))
	page := text(ctx, "main")
	if shown := strings.Contains(page, "Development details") && strings.Contains(page, wrong) &&
		strings.Contains(page, "http://localhost:3000/callback"); shown != dev {
		t.Errorf("dev %v: the error page shows the details: %v\n%s", dev, shown, page)
	}
	if !dev && (strings.Contains(page, wrong) || strings.Contains(page, "localhost:3000")) {
		t.Errorf("the production error page names a URI:\n%s", page)
	}
	sh.shot(map[bool]string{true: "dev-redirect-error", false: "production-redirect-error"}[dev])
}

// The embedded default's error page, in Chromium: the authorize pages over the in-process
// harness with Dev set, as serve sets it when it runs without DATABASE_URL.
func TestDevRedirectErrorPage(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	h.Environment(t, "examples", "examples-dev")
	reg, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: "examples-dev", Type: client.Confidential,
		Settings: client.Settings{Name: "My Documents App", GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
			RedirectURIs: []string{"http://localhost:3000/callback"}, Scopes: []string{"openid"}}, Grantor: client.OperatorGrantor}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	domain := "localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	srv := api.New(api.Options{Directory: tenants.NewDirectory(h.Catalog, domain, "http"),
		Web: web.New(web.Deps{App: h.App, Catalog: h.Catalog, Sessions: h.Sessions, Keys: h.Keys, MasterKey: apptest.MasterKey,
			Scheme: "http", Dev: true})})
	go srv.Listener(ln) //nolint:errcheck // ends with the test
	t.Cleanup(func() { _ = srv.Shutdown() })
	ctx := browser(t)
	sh := &shooter{t: t, ctx: ctx, dir: artifacts(t, "newcomer")}
	sh.n = 10 // after TestDashboardNewcomer's
	redirectErrorPage(t, ctx, sh, "http://examples-dev."+domain, reg.ClientID, true)
}
