package dashboard

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/tenants"
)

const origin = "http://dashboard.localhost:4000"

// rig is the dashboard over the in-process harness: account acme (acme-test, acme-live)
// and globex (globex-test), each with an operator, and no HTTP sign-in (the session cookie
// is sealed here, as /callback would seal it).
type rig struct {
	h   *apptest.Harness
	d   *Dashboard
	now time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	h := apptest.New(t)
	if _, err := h.App.CreateEnvironment(t.Context(), app.CreateEnvironment{Account: domain.OperatorsAccount,
		Slug: domain.OperatorsEnvironment, DisplayName: "ops", System: true}, apptest.System); err != nil {
		t.Fatal(err)
	}
	for _, e := range [][2]string{{"acme", "acme-test"}, {"acme", "acme-live"}, {"globex", "globex-test"}} {
		h.Environment(t, e[0], e[1])
	}
	r := &rig{h: h, now: time.Now()}
	r.d = New(Deps{App: h.App, Store: h.Store, Catalog: h.Catalog, Sessions: h.Sessions, Tokens: h.Tokens, Keys: h.Keys,
		Directory: tenants.NewDirectory(h.Catalog, "localhost:4000", "http"), MasterKey: apptest.MasterKey, Scheme: "http",
		Now: func() time.Time { return r.now }})
	return r
}

// browser is one signed-in operator's browser: a cookie jar that honours cookie paths.
type browser struct {
	t   *testing.T
	r   *rig
	jar *cookiejar.Jar
	op  operator
}

// signIn makes email an operator of account (if not yet) and signs them in, in a new browser.
func (r *rig) signIn(t *testing.T, account, email string) *browser {
	t.Helper()
	added, err := r.h.App.AddOperator(t.Context(), app.AddOperator{Account: account, Email: email, Name: email},
		app.AccountAuthority{Host: true}, apptest.System)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.h.App.StartSession(t.Context(), app.StartSession{Environment: domain.OperatorsEnvironment, UserID: added.UserID, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	op := operator{UserID: added.UserID, Email: email, SessionID: s.Session.ID, Expires: r.now.Add(time.Hour).Unix()}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(origin + "/")
	jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: r.d.seal("session", op), Path: "/"}})
	return &browser{t: t, r: r, jar: jar, op: op}
}

// do sends a request to the dashboard with the browser's cookies and keeps the ones set.
func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, origin+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
	}
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := b.r.d.app.Test(req, 10000)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	b.jar.SetCookies(req.URL, resp.Cookies())
	page, _ := io.ReadAll(resp.Body)
	return resp, string(page)
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, page := b.do("GET", path, nil)
	return resp.StatusCode, page
}

// post sends a form with the sign-in's CSRF token.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	form.Set("_csrf", b.r.d.csrfFor(b.op))
	return b.do("POST", path, form)
}
