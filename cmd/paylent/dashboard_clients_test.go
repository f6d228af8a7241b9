package main_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var secretValue = regexp.MustCompile(`id="client-secret" value="([^"]+)"`)

// Register Application refuses bad input on the form itself; the secret is shown once and
// works; rotation shows a new one (the old one works only through the grace chosen); an
// edit replaces the settings; delete asks first, then the client stops working.
func TestDashboardClients(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	d := newDash(t, s.a)
	d.signIn(s.operator(t, s.account, "ops@acme.example"))
	base := "/e/" + s.acme + "/clients"
	form := func(name, redirect string, grants ...string) url.Values {
		return url.Values{"name": {name}, "type": {"confidential"}, "grant_types": grants, "redirect_uris": {redirect},
			"scopes": {"openid", "read:documents"}}
	}
	before := eventCount(t, s)
	for name, tc := range map[string]struct {
		form url.Values
		want string
	}{
		"fragment":          {form("App", "https://app.example.com/cb#x", "authorization_code"), "fragment"},
		"plain http":        {form("App", "http://app.example.com/cb", "authorization_code"), "https"},
		"no grant":          {form("App", "https://app.example.com/cb"), "grant"},
		"no name":           {form("", "https://app.example.com/cb", "authorization_code"), "name"},
		"unknown scope":     {url.Values{"name": {"App"}, "type": {"confidential"}, "grant_types": {"client_credentials"}, "scopes": {"nope:x"}}, "nope:x"},
		"public with cc":    {url.Values{"name": {"App"}, "type": {"public"}, "grant_types": {"client_credentials"}}, "public clients"},
		"code, no redirect": {form("App", "", "authorization_code"), "redirect"},
	} {
		resp, page := d.post(base, tc.form)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `role="alert"`) || !strings.Contains(page, tc.want) {
			t.Errorf("%s: %d, want a form that says %q\n%.300s", name, resp.StatusCode, tc.want, page)
		}
		if tc.form.Get("name") != "" && !strings.Contains(page, `value="`+tc.form.Get("name")+`"`) {
			t.Errorf("%s: the form lost what was typed", name)
		}
	}
	if after := eventCount(t, s); after != before {
		t.Fatalf("refused forms wrote %d events", after-before)
	}

	resp, _ := d.post(base, form("Billing", "https://billing.example.com/cb", "authorization_code", "client_credentials"))
	code, page := d.get(resp.Header.Get("Location")) // post/redirect/get: the secret is on the page redirected to
	m := secretValue.FindStringSubmatch(page)
	id := regexp.MustCompile(`id="client-id">([^<]+)<`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusSeeOther || code != http.StatusOK || m == nil || id == nil {
		t.Fatalf("create: %d\n%.500s", resp.StatusCode, page)
	}
	clientID, first := id[1], m[1]
	token := func(secret string) int {
		st, _ := s.b.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"read:documents"}}, clientID, secret)
		return st
	}
	if st := token(first); st != http.StatusOK {
		t.Fatalf("the shown secret does not work: %d", st)
	}
	if _, page := d.get(base + "/" + clientID); strings.Contains(page, first) {
		t.Fatal("the client page shows the secret again")
	}

	// Rotation with a grace hour: both work; without grace: only the newest.
	page = d.followed(d.post(base+"/"+clientID+"/secret", url.Values{"grace": {"1h"}}))
	second := secretValue.FindStringSubmatch(page)
	if second == nil || second[1] == first || token(second[1]) != http.StatusOK || token(first) != http.StatusOK {
		t.Fatalf("rotation with grace: %.300s", page)
	}
	page = d.followed(d.post(base+"/"+clientID+"/secret", url.Values{"grace": {"0"}}))
	third := secretValue.FindStringSubmatch(page)
	if third == nil || token(third[1]) != http.StatusOK || token(second[1]) != http.StatusUnauthorized {
		t.Fatalf("rotation without grace: %.300s", page)
	}

	// Edit: the settings are replaced; a bad edit changes nothing.
	edit := form("Billing v2", "https://billing.example.com/cb\nhttps://billing.example.com/cb2", "authorization_code")
	resp, _ = d.post(base+"/"+clientID, edit)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "ok=client-saved") {
		t.Fatalf("edit: %d %q", resp.StatusCode, loc)
	}
	d.via(s.b) // read-your-writes on the other instance
	if code, page := d.get(resp.Header.Get("Location")); code != http.StatusOK || !strings.Contains(page, "Billing v2") ||
		!strings.Contains(page, "https://billing.example.com/cb2") || !strings.Contains(page, "Client saved.") {
		t.Fatalf("after the edit: %d\n%.500s", code, page)
	}
	if resp, page := d.post(base+"/"+clientID, form("Billing v3", "not a uri", "authorization_code")); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(page, "redirect") {
		t.Fatalf("bad edit: %d", resp.StatusCode)
	}
	if token(third[1]) != http.StatusBadRequest { // client_credentials was removed by the edit: unauthorized_client
		t.Errorf("a grant removed by the edit still works")
	}

	// Delete: a confirmation page first, then the client is gone.
	if code, page := d.get(base + "/" + clientID + "/delete"); code != http.StatusOK || !strings.Contains(page, "confirm-delete") {
		t.Fatalf("confirm page: %d", code)
	}
	resp, _ = d.post(base+"/"+clientID+"/delete", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if code, _ := d.get(resp.Header.Get("Location")); code != http.StatusOK {
		t.Fatalf("list after delete: %d", code)
	}
	if code, _ := d.get(base + "/" + clientID); code != http.StatusNotFound {
		t.Errorf("deleted client's page: %d", code)
	}
	if token(third[1]) != http.StatusUnauthorized {
		t.Errorf("a deleted client still gets tokens")
	}
	var kinds []string
	log := s.run(t, "events", "--env", s.acme)
	for _, sec := range []string{first, second[1], third[1]} {
		if strings.Contains(log, sec) {
			t.Error("a client secret is in the event log")
		}
	}
	for _, e := range ndjson(t, strings.NewReader(log)) {
		if typ := e["type"].(string); strings.HasPrefix(typ, "client.") && strings.HasSuffix(e["stream"].(string), "/"+clientID) {
			kinds = append(kinds, typ)
			if a := e["actor"].(map[string]any); a["kind"] != "operator" {
				t.Errorf("%s by %v", typ, a)
			}
		}
	}
	if got := strings.Join(kinds, " "); got != "client.registered client.secret_rotated client.secret_rotated client.updated client.deleted" {
		t.Errorf("events: %s", got)
	}
}
