package dashboard

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/internal/secret"
)

var shownSecret = regexp.MustCompile(`id="client-secret" value="([^"]+)"`)

func webForm(name string) url.Values {
	return url.Values{"name": {name}, "type": {"confidential"}, "grant_types": {"authorization_code", "refresh_token"},
		"redirect_uris": {"http://localhost:3000/callback"}, "scopes": {"openid", "profile"}}
}

// register posts Register Application and returns the redirect's target and the flash
// cookie's raw value.
func (b *browser) register(env string, form url.Values) (string, *http.Cookie) {
	b.t.Helper()
	resp, page := b.post("/e/"+env+"/clients", form)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("register: %d\n%.600s", resp.StatusCode, page)
	}
	var flash *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == flashCookie {
			flash = c
		}
	}
	return resp.Header.Get("Location"), flash
}

// Register Application answers with a redirect (post/redirect/get); the page it leads to
// shows the secret and a quickstart with it, once; a reload shows the client page, no
// secret, and says why. One client exists. The secret is never in a URL, and the flash
// cookie that carries it is sealed, HttpOnly, SameSite=Strict and scoped to that page.
func TestRegisterShowsSecretOnce(t *testing.T) {
	r := newRig(t)
	b := r.signIn(t, "acme", "ops@acme.example")
	loc, flash := b.register("acme-test", webForm("My Documents App"))
	clients := r.h.Catalog.Clients("acme-test")
	if len(clients) != 1 {
		t.Fatalf("%d clients", len(clients))
	}
	id := clients[0].ID
	if want := "/e/acme-test/clients/" + id + "/secret"; loc != want {
		t.Fatalf("redirect to %q, want %q", loc, want)
	}
	if flash == nil || !flash.HttpOnly || flash.Path != loc || flash.SameSite != http.SameSiteStrictMode || flash.MaxAge <= 0 || flash.MaxAge > 300 {
		t.Fatalf("flash cookie %+v", flash)
	}

	code, page := b.get(loc)
	m := shownSecret.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil || !secret.Equal(m[1], clients[0].SecretHash) {
		t.Fatalf("the secret page: %d\n%.800s", code, page)
	}
	if strings.Contains(flash.Value, m[1]) || strings.Contains(loc, m[1]) {
		t.Fatal("the secret is readable in the cookie or the URL")
	}
	for _, want := range []string{"CLIENT_ID=" + id, "CLIENT_SECRET=" + m[1], "ISSUER=http://acme-test.localhost:4000",
		"REDIRECT_URI=http://localhost:3000/callback", "CLIENT_URL=http://localhost:3000", `id="copy-quickstart"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the quickstart lacks %q", want)
		}
	}

	for _, path := range []string{loc, loc} { // reload, twice
		code, page = b.get(path)
		if code != http.StatusOK || strings.Contains(page, m[1]) || shownSecret.MatchString(page) ||
			!strings.Contains(page, "was shown once") || !strings.Contains(page, "CLIENT_SECRET="+secretPlaceholder) {
			t.Fatalf("reload: %d\n%.800s", code, page)
		}
	}
	if _, page := b.get("/e/acme-test/clients/" + id); strings.Contains(page, m[1]) || !strings.Contains(page, secretPlaceholder) {
		t.Error("the client page shows the secret, or no placeholder")
	}
	if n := len(r.h.Catalog.Clients("acme-test")); n != 1 {
		t.Errorf("%d clients after the reloads", n)
	}
}

// A flash opens only for the sign-in that made it, at its own client's page, in time, while
// its secret is the client's; anything else shows no secret.
func TestSecretFlashIsBound(t *testing.T) {
	r := newRig(t)
	alice := r.signIn(t, "acme", "ops@acme.example")
	loc, flash := alice.register("acme-test", webForm("Billing"))
	otherLoc, _ := alice.register("acme-test", webForm("Payroll"))
	_, _ = alice.get(otherLoc) // consume Payroll's own flash
	replay := func(b *browser, path string, value string) string {
		u, _ := url.Parse(origin + path)
		b.jar.SetCookies(u, []*http.Cookie{{Name: flashCookie, Value: value, Path: path}})
		_, page := b.get(path)
		return page
	}
	noSecret := func(name, page string) {
		t.Helper()
		if shownSecret.MatchString(page) {
			t.Errorf("%s: the secret is shown", name)
		}
	}
	// The same operator in another browser (another sign-in).
	noSecret("another sign-in", replay(r.signIn(t, "acme", "ops@acme.example"), loc, flash.Value))
	// Another operator of the account.
	noSecret("another operator", replay(r.signIn(t, "acme", "bob@acme.example"), loc, flash.Value))
	// Another client's page, in the same browser.
	noSecret("another client", replay(alice, otherLoc, flash.Value))
	// An operator of another account cannot even see the environment.
	if code, _ := r.signIn(t, "globex", "eve@globex.example").get(loc); code != http.StatusNotFound {
		t.Errorf("another account's operator: %d", code)
	}
	// Altered.
	noSecret("altered", replay(alice, loc, flash.Value[:len(flash.Value)-2]+"AA"))
	// Too late.
	r.now = r.now.Add(flashTTL + time.Second)
	noSecret("expired", replay(alice, loc, flash.Value))
	r.now = r.now.Add(-flashTTL - time.Second)
	// After a rotation the old flash's secret is not the client's any more.
	id := strings.Split(loc, "/")[4]
	if resp, _ := alice.post("/e/acme-test/clients/"+id+"/secret", url.Values{"grace": {"0"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rotate: %d", resp.StatusCode)
	}
	noSecret("after a rotation", replay(alice, loc, flash.Value))
	// The genuine flash, in its own browser, in time, still works (the test's replays are real).
	loc2, flash2 := alice.register("acme-test", webForm("Ledger"))
	if page := replay(alice, loc2, flash2.Value); !shownSecret.MatchString(page) {
		t.Fatalf("the genuine flash shows no secret:\n%.500s", page)
	}
}

// Rotating answers with a redirect to the same page: the new secret once, then the note.
func TestRotateShowsSecretOnce(t *testing.T) {
	r := newRig(t)
	b := r.signIn(t, "acme", "ops@acme.example")
	loc, _ := b.register("acme-test", webForm("Billing"))
	b.get(loc)
	resp, page := b.post(loc, url.Values{"grace": {"1h"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != loc || shownSecret.MatchString(page) {
		t.Fatalf("rotate: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.get(loc)
	m := shownSecret.FindStringSubmatch(page)
	cl, _ := r.h.Catalog.Client("acme-test", strings.Split(loc, "/")[4])
	if m == nil || !secret.Equal(m[1], cl.SecretHash) || !strings.Contains(page, "New client secret") || !strings.Contains(page, "keeps working until") {
		t.Fatalf("after rotation:\n%.800s", page)
	}
	if _, page = b.get(loc); shownSecret.MatchString(page) {
		t.Fatal("a reload shows the rotated secret again")
	}
}

// A name another client of the environment has is warned about, naming only that
// environment's clients; the operator confirms that name or changes it.
func TestRegisterWarnsAboutDuplicateNames(t *testing.T) {
	r := newRig(t)
	b := r.signIn(t, "acme", "ops@acme.example")
	b.register("acme-test", webForm("My Documents App"))
	b.register("acme-live", webForm("Billing")) // the same name in another environment: no warning
	b.register("acme-test", webForm("Billing"))
	first := r.h.Catalog.Clients("acme-test")
	globex := r.signIn(t, "globex", "eve@globex.example")
	globex.register("globex-test", webForm("my documents app"))

	resp, page := b.post("/e/acme-test/clients", webForm("My documents app"))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, `id="duplicate-warning"`) || !strings.Contains(page, `id="confirm-duplicate"`) {
		t.Fatalf("duplicate: %d\n%.800s", resp.StatusCode, page)
	}
	for _, c := range r.h.Catalog.Clients("globex-test") {
		if strings.Contains(page, c.ID) {
			t.Error("the warning names a client of another account")
		}
	}
	for _, c := range r.h.Catalog.Clients("acme-live") {
		if strings.Contains(page, c.ID) {
			t.Error("the warning names a client of another environment")
		}
	}
	if !strings.Contains(page, `value="My documents app"`) || len(r.h.Catalog.Clients("acme-test")) != len(first) {
		t.Fatal("the form lost the name, or a client was registered")
	}
	// Confirming another name than the one asked for confirms nothing.
	f := webForm("Billing")
	f.Set("confirm_duplicate", "My documents app")
	if resp, _ := b.post("/e/acme-test/clients", f); resp.StatusCode != http.StatusConflict {
		t.Fatalf("a confirmation of another name: %d", resp.StatusCode)
	}
	f = webForm("My documents app")
	f.Set("confirm_duplicate", "My documents app")
	b.register("acme-test", f)
	if n := len(r.h.Catalog.Clients("acme-test")); n != len(first)+1 {
		t.Fatalf("%d clients after confirming, want %d", n, len(first)+1)
	}
}

// Register Application's application types preset the form on the server (no script
// needed); without one it starts as the published walkthrough expects.
func TestRegisterFormKinds(t *testing.T) {
	r := newRig(t)
	b := r.signIn(t, "acme", "ops@acme.example")
	checked := func(page, name, value string) bool {
		return regexp.MustCompile(`name="` + name + `" value="` + regexp.QuoteMeta(value) + `"[^>]* checked`).MatchString(page)
	}
	for kind, want := range map[string]struct {
		typ, redirect string
		grants        []string
		openid        bool
	}{
		"":       {"confidential", "", []string{"authorization_code"}, true},
		"web":    {"confidential", "", []string{"authorization_code", "refresh_token"}, true},
		"spa":    {"public", "", []string{"authorization_code", "refresh_token"}, true},
		"native": {"public", "http://127.0.0.1/callback", []string{"authorization_code"}, true},
		"m2m":    {"confidential", "", []string{"client_credentials"}, false},
	} {
		code, page := b.get("/e/acme-test/clients/new?kind=" + kind)
		if code != http.StatusOK || !checked(page, "type", want.typ) || checked(page, "scopes", "openid") != want.openid {
			t.Errorf("kind %q: %d, type or scopes wrong", kind, code)
		}
		for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
			if checked(page, "grant_types", g) != strings.Contains(strings.Join(want.grants, " "), g) {
				t.Errorf("kind %q: grant %s", kind, g)
			}
		}
		if !strings.Contains(page, `spellcheck="false">`+want.redirect+`</textarea>`) {
			t.Errorf("kind %q: redirect URIs are not %q", kind, want.redirect)
		}
		if kind != "" && !strings.Contains(page, `id="kind-`+kind+`" `) {
			t.Errorf("kind %q is not offered", kind)
		}
	}
}

var formBase = regexp.MustCompile(`name="base" value="([^"]*)"`)

// Two operators edit one client. Bob opens its page; Alice takes a (leaked) redirect URI
// away; Bob, whose form still shows it, saves a rename. The save must not write Alice's
// removal back: it is refused with the current settings shown, and saves once made from
// them.
func TestEditFormDoesNotUndoAConcurrentChange(t *testing.T) {
	r := newRig(t)
	alice := r.signIn(t, "acme", "alice@acme.example")
	bob := r.signIn(t, "acme", "bob@acme.example")
	form := webForm("Docs")
	form["redirect_uris"] = []string{"http://localhost:3000/callback\nhttps://leaked.example/cb"}
	alice.register("acme-test", form)
	id := r.h.Catalog.Clients("acme-test")[0].ID
	path := "/e/acme-test/clients/" + id

	_, page := bob.get(path)
	m := formBase.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the edit form names no base:\n%s", page)
	}
	bobs := webForm("Docs renamed") // what Bob's form shows, with his rename
	bobs["redirect_uris"] = form["redirect_uris"]
	bobs.Set("base", m[1])

	if resp, page := alice.post(path, webForm("Docs")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's change: %d\n%.600s", resp.StatusCode, page)
	}
	resp, page := bob.post(path, bobs)
	cl, _ := r.h.Catalog.Client("acme-test", id)
	if slices.Contains(cl.Settings.RedirectURIs, "https://leaked.example/cb") || cl.Settings.Name != "Docs" {
		t.Fatalf("a stale form wrote over alice's change: %+v", cl.Settings)
	}
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "changed by someone else") {
		t.Errorf("the stale save answered %d\n%.600s", resp.StatusCode, page)
	}

	m = formBase.FindStringSubmatch(page) // the page shows the current settings: saving them works
	bobs = webForm("Docs renamed")
	bobs.Set("base", m[1])
	if resp, page := bob.post(path, bobs); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a save from the current settings: %d\n%.600s", resp.StatusCode, page)
	}
	if cl, _ := r.h.Catalog.Client("acme-test", id); cl.Settings.Name != "Docs renamed" || slices.Contains(cl.Settings.RedirectURIs, "https://leaked.example/cb") {
		t.Errorf("after the save: %+v", cl.Settings)
	}
}
