package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An operator signs in through the operators' environment and sees their account's
// environments only.
func TestDashboardSignIn(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	email, password := s.operator(t, s.account, "ops@acme.example")
	d := newDash(t, s.a)
	if code, page := d.get("/"); code != http.StatusOK || !strings.Contains(page, `id="signin"`) {
		t.Fatalf("signed out home: %d", code)
	}
	if resp, _ := d.do("GET", "/e/"+s.acme+"/clients", nil); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/login?return=") {
		t.Fatalf("a page asks to sign in first: %d %v", resp.StatusCode, resp.Header)
	}
	d.signIn(email, password)
	code, page := d.get("/")
	if code != http.StatusOK || !strings.Contains(page, s.acme) || strings.Contains(page, s.other) {
		t.Fatalf("home after sign-in: %d\n%s", code, page)
	}
	// The sign-in holds on the other instance too (stateless cookie, shared sessions).
	d.via(s.b)
	if code, _ := d.get("/e/" + s.acme + "/clients"); code != http.StatusOK {
		t.Fatalf("other instance: %d", code)
	}
	if code, _ := d.get("/e/" + s.other + "/clients"); code != http.StatusNotFound {
		t.Fatalf("another account's environment: %d", code)
	}
	// Sign out: the dashboard forgets the sign-in and the operators' session ends.
	resp, _ := d.post("/logout", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/oauth/logout?") {
		t.Fatalf("logout: %d %q", resp.StatusCode, loc)
	}
	resp, _ = d.do("GET", resp.Header.Get("Location"), nil)
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Path != "/signed-out" {
		t.Fatalf("end session: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := d.do("GET", "/e/"+s.acme+"/clients", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", resp.StatusCode)
	}
}

// Behind a TLS terminator (PAYLENT_PUBLIC_SCHEME=https), the dashboard still signs operators
// in: it redeems the code at its own listener in plain HTTP, and its cookies are Secure.
func TestDashboardBehindTLS(t *testing.T) {
	t.Parallel()
	s := startOne(t, "PAYLENT_PUBLIC_SCHEME=https")
	email, password := s.operator(t, s.account, "ops@acme.example")
	d := newDash(t, s.a)
	d.base = "https://dashboard." + s.a.domain
	resp, _ := d.do("GET", "/login", nil)
	for _, c := range resp.Cookies() {
		if !c.Secure || !c.HttpOnly {
			t.Errorf("cookie %s is not Secure and HttpOnly", c.Name)
		}
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "https://paylent."+s.a.domain+"/oauth/authorize?") ||
		!strings.Contains(loc, url.QueryEscape("https://dashboard."+s.a.domain+"/callback")) {
		t.Fatalf("authorization request: %q", loc)
	}
	d.signIn(email, password)
	if code, page := d.get("/e/" + s.acme + "/clients"); code != http.StatusOK || !strings.Contains(page, "Register Application") {
		t.Fatalf("after sign-in over https: %d", code)
	}
}
