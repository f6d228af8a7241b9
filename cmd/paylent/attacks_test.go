package main_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// pageClient is a browser-like HTTP client: cookies, loopback for *.localhost, no redirects
// followed (tests look at them).
type pageClient struct {
	t      *testing.T
	c      *http.Client
	origin string
}

func newPageClient(t *testing.T, origin string) *pageClient {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: loopback.Transport, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &pageClient{t: t, c: c, origin: origin}
}

func (p *pageClient) do(method, rawURL string, form url.Values, header ...string) (*http.Response, string) {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, rawURL, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", p.origin)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var hiddenField = regexp.MustCompile(`name="(_csrf|flow)" value="([^"]*)"`)

// fields reads the hidden _csrf and flow fields of a page.
func fields(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	return v
}

func TestAuthorizeRefusesWhatItMustNotRedirect(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	app := s.client(t, s.acme, "--name", "App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb?tenant=1", "--scope", "openid")
	issuer := s.a.issuer(s.acme)
	p := newPKCE()
	base := url.Values{"response_type": {"code"}, "client_id": {app.ID}, "redirect_uri": {"https://app.example.com/cb?tenant=1"},
		"scope": {"openid"}, "state": {"xyz"}, "code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range base {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return issuer + "/oauth/authorize?" + q.Encode()
	}
	pc := newPageClient(t, issuer)
	// Never redirected: an error page.
	for name, u := range map[string]string{
		"unregistered redirect": with("redirect_uri", "https://evil.example.com/cb"),
		"extra path":            with("redirect_uri", "https://app.example.com/cb/extra?tenant=1"),
		"extra query":           with("redirect_uri", "https://app.example.com/cb?tenant=1&x=2"),
		"unknown client":        with("client_id", "no-such-client"),
		"repeated client_id":    issuer + "/oauth/authorize?" + url.Values{"client_id": {app.ID, app.ID}}.Encode(),
	} {
		resp, body := pc.do("GET", u, nil)
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(body, "<h1>") {
			t.Errorf("%s: %d Location=%q", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Redirected with error and state.
	for name, c := range map[string]struct{ url, code string }{
		"PKCE plain":          {with("code_challenge_method", "plain"), "invalid_request"},
		"public without PKCE": {issuer + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ID}, "scope": {"openid"}, "state": {"xyz"}}.Encode(), "invalid_request"},
		"implicit":            {with("response_type", "token"), "unsupported_response_type"},
		"unknown scope":       {with("scope", "openid launch:missiles"), "invalid_scope"},
		"bad prompt":          {with("prompt", "none login"), "invalid_request"},
		"request object":      {with("request", "eyJ..."), "request_not_supported"},
		"not signed in":       {with("prompt", "none"), "login_required"},
	} {
		resp, _ := pc.do("GET", c.url, nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || loc == nil || loc.Host != "app.example.com" || loc.Query().Get("error") != c.code ||
			loc.Query().Get("state") != "xyz" || loc.Query().Get("tenant") != "1" || loc.Query().Get("iss") != issuer {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestLoginDefences(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	cbURL := "https://app.example.com/cb"
	app := s.client(t, s.acme, "--name", "App", "--type", "confidential", "--grant", "authorization_code",
		"--redirect-uri", cbURL, "--scope", "openid")
	s.userJSON(t, s.acme, "eve@example.com", "Eve")
	issuer := s.a.issuer(s.acme)
	authorize := issuer + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ID},
		"scope": {"openid"}, "state": {"s"}}.Encode()

	pc := newPageClient(t, issuer)
	resp, page := pc.do("GET", authorize, nil)
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("login page can be framed: %v", resp.Header)
	}
	f := fields(page)
	login := func(pc *pageClient, email, password string, f url.Values, header ...string) (*http.Response, string) {
		return pc.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
			"email": {email}, "password": {password}}, header...)
	}
	// CSRF: another origin, or a token that does not match the cookie, is refused.
	if resp, _ := login(pc, "eve@example.com", "correct horse battery", f, "Origin", "https://evil.example.com"); resp.StatusCode != 403 {
		t.Errorf("cross-site login post: %d", resp.StatusCode)
	}
	stranger := newPageClient(t, issuer)
	stranger.do("GET", authorize, nil)
	if resp, _ := login(stranger, "eve@example.com", "correct horse battery", f); resp.StatusCode != 403 {
		t.Errorf("a CSRF token of another browser: %d", resp.StatusCode)
	}

	// Session fixation: a session cookie planted before login is not the one after it.
	planted := strings.Repeat("A", 43)
	u, _ := url.Parse(issuer)
	pc.c.Jar.SetCookies(u, []*http.Cookie{{Name: "paylent_session", Value: planted, Path: "/"}})
	resp, page = login(pc, "eve@example.com", "correct horse battery", f)
	if resp.StatusCode != 200 || !strings.Contains(page, "button") {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	for _, c := range pc.c.Jar.Cookies(u) {
		if c.Name == "paylent_session" && (c.Value == planted || len(c.Value) != 43) {
			t.Errorf("session cookie after login: %q", c.Value)
		}
	}
	// CSRF on consent: the consent page's form posted from another origin is refused.
	cf := fields(page)
	if resp, _ := pc.do("POST", issuer+"/consent", url.Values{"_csrf": {cf.Get("_csrf")}, "flow": {cf.Get("flow")}, "decision": {"approve"}},
		"Origin", "https://evil.example.com"); resp.StatusCode != 403 {
		t.Errorf("cross-site consent: %d", resp.StatusCode)
	}
	if resp, _ := pc.do("POST", issuer+"/consent", url.Values{"flow": {cf.Get("flow")}, "decision": {"approve"}}); resp.StatusCode != 403 {
		t.Errorf("consent without a token: %d", resp.StatusCode)
	}
}

// Unknown email and wrong password take the same time (both verify an Argon2id hash); the
// account locks after repeated failures, and the lock looks like any failure.
func TestLoginTimingAndLockout(t *testing.T) {
	s := sharedOne(t)
	s.userJSON(t, s.acme, "tim@example.com", "Tim")
	s.userJSON(t, s.acme, "tam@example.com", "Tam") // more samples without locking tim early
	issuer := s.a.issuer(s.acme)
	pc := newPageClient(t, issuer)
	_, page := pc.do("GET", issuer+"/login", nil)
	f := fields(page)
	attempt := func(email, password string) (int, time.Duration) {
		start := time.Now()
		resp, _ := pc.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "email": {email}, "password": {password}})
		return resp.StatusCode, time.Since(start)
	}
	// Medians of interleaved samples, loosely bounded: the suite runs packages side by side
	// on two cores, and a real leak (no dummy hash) is a ratio near 0, not 0.4.
	var unknown, wrong []time.Duration
	for i := 0; i < 8; i++ {
		known := "tim@example.com"
		if i%2 == 1 {
			known = "tam@example.com"
		}
		_, d1 := attempt("nobody@example.com", "whatever-password")
		_, d2 := attempt(known, "wrong-password")
		unknown, wrong = append(unknown, d1), append(wrong, d2)
	}
	mu, mw := median(unknown), median(wrong)
	if ratio := float64(mu) / float64(mw); ratio < 0.4 || ratio > 2.5 {
		t.Errorf("unknown email median %s vs wrong password median %s: the difference reveals accounts", mu, mw)
	}
	// Four failures so far; the fifth locks the account: the right password now fails too.
	attempt("tim@example.com", "wrong-password")
	s.a.waitReady(s.acme, 10*time.Second) // readiness: every read model at the log's head, failures included
	if st, _ := attempt("tim@example.com", "correct horse battery"); st != 401 {
		t.Errorf("locked account accepted the right password: %d", st)
	}
	out := s.run(t, "events", "--env", s.acme)
	if n := strings.Count(out, `"type":"user.login_failed"`); n != 9 {
		t.Errorf("%d login failures recorded, want 9 (tim 5, tam 4)", n)
	}
	if strings.Contains(out, "wrong-password") || strings.Contains(out, "correct horse") {
		t.Error("a password reached the event log")
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
