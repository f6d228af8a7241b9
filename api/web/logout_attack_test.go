package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/web"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/tenants"
)

// Signing out ends the browser's session in the log, also one that does not stand right now
// (its user disabled by a version that left sessions alone): since 24d0c42 the sign-out page
// asks app.SignedIn, finds no session, clears the cookie and revokes nothing, so when an
// operator enables the user again the session the person signed out of comes back, for
// whoever copied its cookie. The sign-in and sign-up pages end the browser's previous
// session the same way (Previous), and leave such a one too.
func TestSignOutEndsASessionThatDoesNotStand(t *testing.T) {
	h := apptest.New(t)
	h.Environment(t, "acme", "acme-dev")
	pw, _ := user.NewPassword("a long and unusual phrase", "ada@example.com")
	u, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: "acme-dev", Email: "ada@example.com", Name: "Ada",
		Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.App.StartSession(t.Context(), app.StartSession{Environment: "acme-dev", UserID: u.UserID, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := api.New(api.Options{Directory: tenants.NewDirectory(h.Catalog, "localhost:4000", "http"), Logger: log,
		Web: web.New(web.Deps{App: h.App, Catalog: h.Catalog, Sessions: h.Sessions, Keys: h.Keys, MasterKey: apptest.MasterKey,
			Scheme: "http", Logger: log})})
	record := func(ev interface{ EventType() string }) {
		typ, ver, data, err := h.Registry.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		ref := user.Stream("acme-dev", u.UserID)
		if _, err := h.Store.Append(t.Context(), eventstore.StreamAppend{Environment: ref.Environment, Stream: ref.Stream,
			ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{{Type: typ, SchemaVersion: ver, Data: data,
				OccurredAt: time.Now(), Actor: apptest.System}}}); err != nil {
			t.Fatal(err)
		}
	}
	record(user.Disabled{}) // as a version that left sessions alone wrote it

	// The person signs out: the confirmation page, then its form.
	get := httptest.NewRequest("GET", "http://"+host+"/oauth/logout", nil)
	get.Header.Set("Cookie", "paylent_session="+s.Token)
	resp, err := a.Test(get, 5000)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(page)
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "paylent_csrf" {
			csrf = c
		}
	}
	if m == nil || csrf == nil {
		t.Fatalf("no sign-out form: %d\n%s", resp.StatusCode, page)
	}
	post := httptest.NewRequest("POST", "http://"+host+"/oauth/logout",
		strings.NewReader(url.Values{"_csrf": {string(m[1])}, "confirm": {"yes"}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Origin", "http://"+host)
	post.Header.Set("Cookie", "paylent_session="+s.Token+"; paylent_csrf="+csrf.Value)
	if resp, err = a.Test(post, 5000); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if got, _ := h.Sessions.ByID("acme-dev", s.Session.ID); !got.Revoked {
		t.Error("the session the person signed out of is still active")
	}
	record(user.Enabled{})
	if _, ok := h.App.SignedIn("acme-dev", s.Token); ok {
		t.Error("the session the person signed out of stands again once the user is enabled")
	}
}
