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

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/web"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/tenants"
)

// signedIn is the sign-in pages over the harness, with ada signed in in one browser.
type signedIn struct {
	t      *testing.T
	h      *apptest.Harness
	a      *fiber.App
	userID string
	s      app.StartedSession
}

func newSignedIn(t *testing.T) *signedIn {
	t.Helper()
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
	return &signedIn{t: t, h: h, a: a, userID: u.UserID, s: s}
}

// record appends an event to ada's stream as another instance or an older version wrote
// it, without what goes with it today (a disabling without the revocation of her sessions).
func (r *signedIn) record(ev domain.Event) {
	r.t.Helper()
	typ, ver, data, err := r.h.Registry.Encode(ev)
	if err != nil {
		r.t.Fatal(err)
	}
	ref := user.Stream("acme-dev", r.userID)
	if _, err := r.h.Store.Append(r.t.Context(), eventstore.StreamAppend{Environment: ref.Environment, Stream: ref.Stream,
		ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{{Type: typ, SchemaVersion: ver, Data: data,
			OccurredAt: time.Now(), Actor: apptest.System}}}); err != nil {
		r.t.Fatal(err)
	}
}

// do sends a request with the browser's session cookie (and more cookies, "k=v; …").
func (r *signedIn) do(req *http.Request, cookies string) (*http.Response, string) {
	r.t.Helper()
	req.Header.Set("Cookie", strings.Trim("paylent_session="+r.s.Token+"; "+cookies, "; "))
	resp, err := r.a.Test(req, 5000)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The sign-in pages judge a browser's session by app.SignedIn, never by the sessions model
// alone: a user disabled by a version that left their sessions alone, or whose sign-ins an
// operator ended on an instance whose session revocation has not arrived here yet, is signed
// out of /account/security at once. Before, the face read the sessions model and showed
// the page.
func TestAccountPagesNeedASessionThatStands(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func() domain.Event // made once ada is signed in
	}{
		{"disabled by an older version", func() domain.Event { return user.Disabled{} }},
		{"sign-ins ended", func() domain.Event { return user.SignInsEnded{Reason: "factors_reset", At: time.Now()} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSignedIn(t)
			security := func() (int, string) {
				resp, page := r.do(httptest.NewRequest("GET", "http://"+host+"/account/security", nil), "")
				return resp.StatusCode, page
			}
			if code, page := security(); code != 200 || !strings.Contains(page, "ada@example.com") {
				t.Fatalf("signed in: %d\n%s", code, page)
			}
			r.record(tc.end())
			if code, page := security(); code != 401 || strings.Contains(page, "ada@example.com") {
				t.Errorf("after the user's end: %d\n%s", code, page)
			}
		})
	}
}

// Signing out ends the browser's session in the log, also one that does not stand right now
// (its user disabled by a version that left sessions alone): the sign-out page once asked
// app.SignedIn, found no session, cleared the cookie and revoked nothing, so when an operator
// enabled the user again the session the person signed out of came back, for whoever copied
// its cookie (attack review).
func TestSignOutEndsASessionThatDoesNotStand(t *testing.T) {
	r := newSignedIn(t)
	r.record(user.Disabled{})
	resp, page := r.do(httptest.NewRequest("GET", "http://"+host+"/oauth/logout", nil), "")
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(page)
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
		strings.NewReader(url.Values{"_csrf": {m[1]}, "confirm": {"yes"}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Origin", "http://"+host)
	if resp, _ := r.do(post, "paylent_csrf="+csrf.Value); resp.StatusCode != 200 {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if got, _ := r.h.Sessions.ByID("acme-dev", r.s.Session.ID); !got.Revoked {
		t.Error("the session the person signed out of is still active")
	}
	r.record(user.Enabled{})
	if _, ok := r.h.App.SignedIn("acme-dev", r.s.Token); ok {
		t.Error("the session the person signed out of stands again once the user is enabled")
	}
}
