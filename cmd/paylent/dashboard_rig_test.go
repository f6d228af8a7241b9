package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// operator makes an operator of account with the CLI and returns their credentials.
func (s *stack) operator(t *testing.T, account, email string) (string, string) {
	t.Helper()
	if s.seq != 0 { // the shared stack's operators are users of one environment
		email = strings.Replace(email, "@", fmt.Sprintf("@t%d.", s.seq), 1)
	}
	out := s.run(t, "operators", "create", "--account", account, "--email", email, "--name", "Operator of "+account, "--json")
	var r struct {
		UserID   string `json:"user_id"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Password == "" {
		t.Fatalf("operators create: %q %v", out, err)
	}
	return email, r.Password
}

// dash is a browser-like HTTP client of the dashboard: cookies, no redirects followed, and
// Origin set on every form post to the origin it goes to.
type dash struct {
	t    *testing.T
	c    *http.Client
	base string // http://dashboard.<domain>
	csrf string
}

func (i *instance) dashboardURL() string { return "http://dashboard." + i.domain }

// newDash returns a client whose every request goes to instance i (all instances serve the
// same public domain, so the URL alone cannot choose one).
func newDash(t *testing.T, i *instance) *dash {
	jar, _ := cookiejar.New(nil)
	d := &dash{t: t, base: i.dashboardURL(), c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	d.via(i)
	return d
}

// via sends the client's next requests to instance i, keeping its cookies. https URLs (a
// public scheme of https: TLS ends in front of Paylent) reach it in plain HTTP.
func (d *dash) via(i *instance) {
	target := fmt.Sprintf("127.0.0.1:%d", i.port)
	d.c.Transport = roundTrip(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Host = r.URL.Host
		r.URL.Scheme, r.URL.Host = "http", target
		return http.DefaultTransport.RoundTrip(r)
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// do sends a request; a relative path goes to the dashboard.
func (d *dash) do(method, target string, form url.Values) (*http.Response, string) {
	d.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = d.base + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		u, _ := url.Parse(target)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	}
	resp, err := d.c.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(b)); m != nil && strings.HasPrefix(target, d.base) {
		d.csrf = m[1]
	}
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// get follows redirects within reason and returns the final status and page.
func (d *dash) get(path string) (int, string) {
	d.t.Helper()
	resp, page := d.do("GET", path, nil)
	for n := 0; n < 5 && resp.StatusCode == http.StatusSeeOther; n++ {
		resp, page = d.do("GET", resp.Header.Get("Location"), nil)
	}
	return resp.StatusCode, page
}

// post sends a dashboard form with the sign-in's CSRF token; it does not follow redirects.
func (d *dash) post(path string, form url.Values) (*http.Response, string) {
	d.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", d.csrf)
	}
	return d.do("POST", path, form)
}

// signIn goes through the real sign-in: dashboard → operators' authorize → login →
// consent (first time) → dashboard callback.
func (d *dash) signIn(email, password string) {
	d.t.Helper()
	resp, _ := d.do("GET", "/login", nil)
	authorize := resp.Header.Get("Location")
	resp, page := d.do("GET", authorize, nil)
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	issuer := authorize[:strings.Index(authorize, "/oauth/")]
	f := fields(page)
	resp, page = d.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"email": {email}, "password": {password}})
	if resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`) {
		f = fields(page)
		resp, page = d.do("POST", issuer+"/consent", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")}, "decision": {"approve"}})
	}
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, d.base+"/callback?") {
		d.t.Fatalf("sign-in did not come back to the dashboard: %d %q %s", resp.StatusCode, callback, page)
	}
	resp, page = d.do("GET", callback, nil)
	if resp.StatusCode != http.StatusSeeOther {
		d.t.Fatalf("callback: %d %s", resp.StatusCode, page)
	}
	if code, page := d.get(resp.Header.Get("Location")); code != http.StatusOK || d.csrf == "" {
		d.t.Fatalf("after sign-in: %d %s", code, page)
	}
}
