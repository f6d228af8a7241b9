package main_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The documented setup of the Client & API example, in either order: Register Application
// ticks the environment's custom scopes (never the Management API's); Create Scope offers the
// environment's clients and ticks those that sign users in, so a scope created after the app
// is allowed for it; the app may then ask users for it at the authorization endpoint.
func TestDashboardScopesForApps(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	d := signedInDash(t, s)
	clients, scopes := "/e/"+s.acme+"/clients", "/e/"+s.acme+"/scopes"

	// Scopes first: the form ticks read:documents, which exists.
	_, page := d.get(clients + "/new")
	for _, want := range []string{`value="openid" checked`, `value="profile" checked`, `value="read:documents" checked`} {
		if !strings.Contains(page, want) {
			t.Errorf("Register Application lacks %s", want)
		}
	}
	if strings.Contains(page, `value="admin:read" checked`) || strings.Contains(page, `value="offline_access" checked`) {
		t.Error("Register Application ticks a Management API scope or offline_access")
	}

	// The app first, as the example's README lists the steps: the documented fields only.
	register := func(form url.Values) string {
		t.Helper()
		page := d.followed(d.post(clients, form)) // post/redirect/get: the secret page
		id := regexp.MustCompile(`id="client-id">([^<]+)<`).FindStringSubmatch(page)
		if id == nil {
			t.Fatalf("register:\n%.500s", page)
		}
		return id[1]
	}
	web := register(url.Values{"name": {"My Documents App"}, "type": {"confidential"},
		"grant_types": {"authorization_code", "refresh_token"}, "redirect_uris": {"http://localhost:3000/callback"},
		"scopes": {"openid", "profile", "email"}})
	machine := register(url.Values{"name": {"Importer"}, "type": {"confidential"}, "grant_types": {"client_credentials"},
		"scopes": {"read:documents"}})

	_, page = d.get(scopes + "/new")
	if !strings.Contains(page, `value="`+web+`" checked`) || !strings.Contains(page, `value="`+machine+`">`) {
		t.Fatalf("Create Scope should tick the web app and offer the machine client unticked:\n%s", page)
	}
	// The browser sends what is ticked: the web app.
	resp, _ := expectPost(t, d, scopes, url.Values{"name": {"edit:notes"}, "description": {"Edit notes"},
		"clients": {web}}, http.StatusSeeOther)
	if _, page := d.get(resp.Header.Get("Location")); !strings.Contains(page, "Scope created.") {
		t.Fatal("no notice after create")
	}
	_, page = d.get(clients + "/" + web)
	if !strings.Contains(page, `value="edit:notes" checked`) || !strings.Contains(page, `value="openid" checked`) {
		t.Errorf("the web app is not allowed the new scope, or lost its others:\n%s", page)
	}
	if _, page := d.get(clients + "/" + machine); strings.Contains(page, `value="edit:notes" checked`) {
		t.Error("the unticked machine client was given the new scope")
	}

	// The app may now ask users for it: authorize answers with the login page, not invalid_scope.
	q := url.Values{"response_type": {"code"}, "client_id": {web}, "redirect_uri": {"http://localhost:3000/callback"},
		"scope": {"openid profile edit:notes"}, "state": {"s"}, "code_challenge": {strings.Repeat("a", 43)},
		"code_challenge_method": {"S256"}}
	resp, page = d.do("GET", "http://"+s.a.host(s.acme)+"/oauth/authorize?"+q.Encode(), nil)
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "error=") || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther) {
		t.Errorf("authorize: %d %s\n%.300s", resp.StatusCode, loc, page)
	}

	// A client id that is not the environment's: the scope is created, the page says what failed.
	_, page = expectPost(t, d, scopes, url.Values{"name": {"export:reports"}, "description": {"Export"}, "clients": {"nope"}}, http.StatusBadRequest)
	if !strings.Contains(page, "could not be allowed for: nope") {
		t.Errorf("failure page: %.400s", page)
	}
}
