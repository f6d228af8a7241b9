package main_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// peopleEvent is an event as `paylent events` prints it, with what these tests look at.
type peopleEvent struct {
	Type  string `json:"type"`
	Actor struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	} `json:"actor"`
	Data map[string]any `json:"data"`
}

// peopleEvents reads an environment's events from the CLI.
func peopleEvents(t *testing.T, s *stack, env string) []peopleEvent {
	t.Helper()
	var out []peopleEvent
	for _, line := range strings.Split(strings.TrimSpace(s.run(t, "events", "--env", env)), "\n") {
		var e peopleEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("events: %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// byOperator counts the events of a type whose actor is an operator, and fails on one of
// that type written by anyone else when only operators should have.
func byOperator(t *testing.T, events []peopleEvent, typ string) int {
	t.Helper()
	n := 0
	for _, e := range events {
		if e.Type != typ {
			continue
		}
		if e.Actor.Kind != "operator" || e.Actor.ID == "" {
			t.Errorf("%s by %+v, want an operator", typ, e.Actor)
		}
		n++
	}
	return n
}

// expectPost posts a dashboard form and checks the redirect (303) or the status.
func expectPost(t *testing.T, d *dash, path string, form url.Values, status int) (*http.Response, string) {
	t.Helper()
	resp, page := d.post(path, form)
	if resp.StatusCode != status {
		t.Fatalf("POST %s: %d, want %d\n%s", path, resp.StatusCode, status, page)
	}
	return resp, page
}

// signedInDash is an operator of acme signed in to the dashboard on instance a.
func signedInDash(t *testing.T, s *stack) *dash {
	email, pw := s.operator(t, s.account, "ops@acme.example")
	d := newDash(t, s.a)
	d.signIn(email, pw)
	return d
}

// Scopes: the list marks the standard ones, which have no delete; a custom scope is created
// (bad input re-renders the form with the reason), tied to an API, and deleted after a
// confirmation.
func TestDashboardScopes(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	s.run(t, "apis", "create", "--env", s.acme, "--identifier", "https://docs.example.com", "--name", "Documents API")
	d := signedInDash(t, s)
	base := "/e/" + s.acme + "/scopes"

	code, page := d.get(base)
	if code != http.StatusOK || !strings.Contains(page, `id="scopes"`) || !strings.Contains(page, `id="create-scope"`) ||
		!strings.Contains(page, `<a href="/e/`+s.acme+`/scopes" aria-current="page">`) {
		t.Fatalf("scopes page: %d\n%s", code, page)
	}
	openid := rowOf(page, "<code>openid</code>")
	if !strings.Contains(openid, `class="tag muted">standard<`) || strings.Contains(openid, "/delete") {
		t.Errorf("openid row: %s", openid)
	}
	if row := rowOf(page, "<code>read:documents</code>"); strings.Contains(row, "standard") || !strings.Contains(row, base+"/read:documents/delete") {
		t.Errorf("custom scope row: %s", row)
	}
	if code, _ := d.get(base + "/openid/delete"); code != http.StatusBadRequest {
		t.Errorf("delete page of a standard scope: %d", code)
	}
	expectPost(t, d, base+"/openid/delete", nil, http.StatusBadRequest)

	// The form offers the environment's APIs (once the catalog has the one made above).
	eventually(t, 5*time.Second, "API in the form", func() bool {
		_, page := d.get(base + "/new")
		return strings.Contains(page, `value="https://docs.example.com"`)
	})
	for _, bad := range []struct{ name, desc, want string }{
		{"bad name!", "x", "name: must be"},
		{"profile", "Mine", "is a standard scope"},
		{"read:documents", "Again", "already has a scope called read:documents"},
		{"ok:scope", "", "description: must be 1 to 200 characters"},
	} {
		_, page := expectPost(t, d, base, url.Values{"name": {bad.name}, "description": {bad.desc}}, http.StatusBadRequest)
		if !strings.Contains(page, bad.want) || !strings.Contains(page, `role="alert"`) || !strings.Contains(page, `value="`+bad.name+`"`) {
			t.Errorf("%q: the form does not say %q", bad.name, bad.want)
		}
	}
	resp, _ := expectPost(t, d, base, url.Values{"name": {"export:reports"}, "description": {"Export reports"},
		"api": {"https://docs.example.com"}}, http.StatusSeeOther)
	code, page = d.get(resp.Header.Get("Location"))
	row := rowOf(page, "<code>export:reports</code>")
	if code != http.StatusOK || !strings.Contains(page, "Scope created.") || !strings.Contains(row, "Export reports") ||
		!strings.Contains(row, "Documents API") {
		t.Fatalf("after create: %d %s", code, row)
	}

	// Delete: a confirmation page first, then the scope is gone.
	if code, page := d.get(base + "/export:reports/delete"); code != http.StatusOK || !strings.Contains(page, `id="confirm-delete"`) {
		t.Fatalf("confirm delete: %d", code)
	}
	resp, _ = expectPost(t, d, base+"/export:reports/delete", nil, http.StatusSeeOther)
	if _, page := d.get(resp.Header.Get("Location")); strings.Contains(page, "export:reports") || !strings.Contains(page, "Scope deleted.") {
		t.Error("the deleted scope is still listed")
	}
	expectPost(t, d, base+"/export:reports/delete", nil, http.StatusNotFound)

	events := peopleEvents(t, s, s.acme)
	if byOperator(t, events, "scope.deleted") != 1 {
		t.Error("scope.deleted not recorded once")
	}
	n := 0
	for _, e := range events {
		if e.Type == "scope.created" && e.Data["name"] == "export:reports" {
			n++
			if e.Actor.Kind != "operator" || e.Data["api"] != "https://docs.example.com" {
				t.Errorf("scope.created: %+v", e)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d scope.created events for export:reports", n)
	}
}

// Users: create (refusals say why and never echo the password), search by email prefix,
// page through, rename, disable and enable, delete after a confirmation.
func TestDashboardUsers(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	d := signedInDash(t, s)
	base := "/e/" + s.acme + "/users"
	if code, page := d.get(base); code != http.StatusOK || !strings.Contains(page, `id="create-user"`) ||
		!strings.Contains(page, `<a href="/e/`+s.acme+`/users" aria-current="page">`) {
		t.Fatalf("users page: %d\n%s", code, page)
	}
	if code, page := d.get(base + "/new"); code != http.StatusOK || !strings.Contains(page, `id="password"`) {
		t.Fatalf("create form: %d", code)
	}
	const pw = "a long secret passphrase"
	for _, bad := range []struct{ email, name, password, want string }{
		{"not-an-address", "N", pw, "email: is not a valid email address"},
		{"short@example.com", "N", "tiny-pw-1", "password: must be at least 10 characters"},
		{"common@example.com", "N", "password123", "password: is one of the most common"},
		{"noname@example.com", "", pw, "name: must be 1 to 200 characters"},
	} {
		_, page := expectPost(t, d, base, url.Values{"email": {bad.email}, "name": {bad.name}, "password": {bad.password}}, http.StatusBadRequest)
		if !strings.Contains(page, bad.want) || strings.Contains(page, bad.password) || !strings.Contains(page, `value="`+bad.email+`"`) {
			t.Errorf("%s: the form does not say %q, or echoes the password", bad.email, bad.want)
		}
	}
	ids := map[string]string{}
	for _, e := range []string{"zoe@example.com", "amy@example.com", "bob@example.com", "amos@example.com"} {
		resp, _ := expectPost(t, d, base, url.Values{"email": {e}, "name": {"N " + e}, "password": {pw}}, http.StatusSeeOther)
		loc := resp.Header.Get("Location")
		ids[e] = strings.TrimPrefix(loc[:strings.Index(loc, "?")], base+"/")
		if code, page := d.get(loc); code != http.StatusOK || !strings.Contains(page, "User created.") || !strings.Contains(page, e) {
			t.Fatalf("after create: %d", code)
		}
	}
	_, page := expectPost(t, d, base, url.Values{"email": {"AMY@example.com"}, "name": {"Amy"}, "password": {pw}}, http.StatusBadRequest)
	if !strings.Contains(page, "already has this address") {
		t.Error("a taken address is not reported")
	}

	// Search by prefix, and pages of two by email.
	_, page = d.get(base + "?q=AM")
	if emailsIn(page) != "amos@example.com amy@example.com" {
		t.Errorf("search am: %q", emailsIn(page))
	}
	_, page = d.get(base + "?limit=2")
	next := regexp.MustCompile(`id="next-page" href="([^"]*)"|href="([^"]*)" id="next-page"`).FindStringSubmatch(page)
	if emailsIn(page) != "amos@example.com amy@example.com" || next == nil {
		t.Fatalf("first page: %q", emailsIn(page))
	}
	_, page = d.get(strings.ReplaceAll(next[1]+next[2], "&amp;", "&"))
	if emailsIn(page) != "bob@example.com zoe@example.com" || strings.Contains(page, `id="next-page"`) || !strings.Contains(page, `id="first-page"`) {
		t.Errorf("second page: %q", emailsIn(page))
	}

	// Rename (an empty name is refused), disable, enable, delete.
	zoe := base + "/" + ids["zoe@example.com"]
	if _, page := expectPost(t, d, zoe, url.Values{"name": {""}}, http.StatusBadRequest); !strings.Contains(page, "name: must be 1 to 200") {
		t.Error("empty name not refused with a reason")
	}
	resp, _ := expectPost(t, d, zoe, url.Values{"name": {"Zoë Zed"}}, http.StatusSeeOther)
	if _, page := d.get(resp.Header.Get("Location")); !strings.Contains(page, `<dd id="user-name">Zoë Zed</dd>`) || !strings.Contains(page, "Name saved.") {
		t.Error("rename not shown")
	}
	resp, _ = expectPost(t, d, zoe+"/disable", nil, http.StatusSeeOther)
	if _, page := d.get(resp.Header.Get("Location")); !strings.Contains(page, `class="tag bad">disabled<`) || !strings.Contains(page, `id="enable-user"`) {
		t.Error("disabled user not shown as such")
	}
	if _, page := d.get(base + "?q=zoe"); !strings.Contains(page, "disabled") {
		t.Error("the list does not show the user disabled")
	}
	resp, _ = expectPost(t, d, zoe+"/enable", nil, http.StatusSeeOther)
	if _, page := d.get(resp.Header.Get("Location")); !strings.Contains(page, `id="disable-user"`) {
		t.Error("enabled user not shown as such")
	}
	if code, page := d.get(zoe + "/delete"); code != http.StatusOK || !strings.Contains(page, `id="confirm-delete"`) {
		t.Fatalf("confirm delete: %d", code)
	}
	resp, _ = expectPost(t, d, zoe+"/delete", nil, http.StatusSeeOther)
	if _, page := d.get(resp.Header.Get("Location")); strings.Contains(page, "zoe@example.com") || !strings.Contains(page, "User deleted.") {
		t.Error("deleted user still listed")
	}
	if code, _ := d.get(zoe); code != http.StatusNotFound {
		t.Errorf("deleted user's page: %d", code)
	}

	events := peopleEvents(t, s, s.acme)
	for typ, want := range map[string]int{"user.created": 4, "user.updated": 1, "user.disabled": 1, "user.enabled": 1, "user.deleted": 1} {
		if n := byOperator(t, events, typ); n != want {
			t.Errorf("%d %s events, want %d", n, typ, want)
		}
	}
	if out := s.run(t, "events", "--env", s.acme); strings.Contains(out, pw) {
		t.Error("a password reached the event log")
	}
}

// Sessions: a user's real login shows on the Sessions page with its address and user agent;
// the operator revokes it and the user's next authorization request asks them to sign in.
// The user's page lists the session and the consent, and revokes the consent.
func TestDashboardSessions(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	const cb = "https://app.example.com/cb"
	app := s.client(t, s.acme, "--name", "Reports App", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", cb, "--scope", "openid")
	uid := s.userJSON(t, s.acme, "sam@example.com", "Sam")
	s.userJSON(t, s.acme, "ann@example.com", "Ann")
	d := signedInDash(t, s)

	// Sam signs in to the app in a browser (its user agent is recognizable).
	const ua = "PeopleTest/1.0 (dashboard sessions)"
	issuer := s.a.issuer(s.acme)
	pc := newPageClient(t, issuer)
	authorize := func() (*http.Response, string) {
		return pc.do("GET", authorizeURL(s, app.ID, cb, "openid", "st", newPKCE()), nil, "User-Agent", ua)
	}
	resp, page := authorize()
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	f := fields(page)
	resp, page = pc.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"email": {"sam@example.com"}, "password": {"correct horse battery"}}, "User-Agent", ua)
	if resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`) {
		f = fields(page)
		resp, _ = pc.do("POST", issuer+"/consent", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")}, "decision": {"approve"}}, "User-Agent", ua)
	}
	if !strings.HasPrefix(resp.Header.Get("Location"), cb+"?code=") {
		t.Fatalf("login did not go back to the app: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := authorize(); !strings.HasPrefix(resp.Header.Get("Location"), cb+"?code=") {
		t.Fatalf("signed in, authorize still asks: %d", resp.StatusCode)
	}

	// The Sessions page: active by default, with user, IP, user agent and status.
	var row string
	eventually(t, 5*time.Second, "session listed", func() bool {
		_, page := d.get("/e/" + s.acme + "/sessions")
		row = rowOf(page, ">sam@example.com</a>")
		return row != ""
	})
	if !strings.Contains(row, "<code>127.0.0.1</code>") || !strings.Contains(row, ua) || !strings.Contains(row, `class="tag good">active<`) {
		t.Fatalf("session row: %s", row)
	}
	m := regexp.MustCompile(`action="(/e/` + s.acme + `/sessions/([^/"]+)/revoke)"`).FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("no revoke form: %s", row)
	}
	_, page = d.get("/e/" + s.acme + "/sessions?user=ann@example.com")
	if !strings.Contains(page, `id="no-sessions"`) || !strings.Contains(page, `<a href="/e/`+s.acme+`/sessions" aria-current="page">`) {
		t.Error("filter by another user shows sessions")
	}
	if _, page := d.get("/e/" + s.acme + "/sessions?user=nobody@example.com"); !strings.Contains(page, "No user of this environment has the address") {
		t.Error("an unknown user's filter is not explained")
	}

	// Revoke it (coming back to the filtered page): listed as revoked under "all", gone from
	// the active ones, and Sam's browser must sign in again.
	back := "/e/" + s.acme + "/sessions?user=sam%40example.com"
	resp, _ = expectPost(t, d, m[1], url.Values{"back": {back}}, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, back+"&ok=") {
		t.Errorf("after revoke: %q", loc)
	}
	_, page = d.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "Session revoked") || !strings.Contains(page, `id="no-sessions"`) {
		t.Errorf("the revoked session is still active:\n%s", page)
	}
	_, page = d.get("/e/" + s.acme + "/sessions?show=all&user=sam@example.com")
	if row := rowOf(page, "<code>127.0.0.1</code>"); !strings.Contains(row, `class="tag bad">revoked<`) || strings.Contains(row, "/revoke") {
		t.Errorf("revoked row: %s", row)
	}
	if resp, page := authorize(); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
		t.Errorf("after revocation the browser is not asked to sign in: %d %v", resp.StatusCode, resp.Header)
	}
	// A "back" that leaves the environment is not followed.
	sid := m[2]
	if resp, _ := expectPost(t, d, m[1], url.Values{"back": {"//evil.example.com/x"}}, http.StatusSeeOther); !strings.HasPrefix(resp.Header.Get("Location"), "/e/"+s.acme+"/sessions?ok=") {
		t.Errorf("revoke went back to %q", resp.Header.Get("Location"))
	}
	expectPost(t, d, "/e/"+s.acme+"/sessions/no-such-session/revoke", nil, http.StatusNotFound)
	if resp, _ := d.do("POST", d.base+m[1], url.Values{"_csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("revoke without the form token: %d", resp.StatusCode)
	}

	// Sam's page: the session (revoked) and the consent, which the operator revokes.
	_, page = d.get("/e/" + s.acme + "/users/" + uid)
	if !strings.Contains(page, `id="session-`+sid+`"`) || !strings.Contains(page, "Reports App") || !strings.Contains(page, `id="consents"`) {
		t.Fatalf("user page lacks session or consent:\n%s", page)
	}
	resp, _ = expectPost(t, d, "/e/"+s.acme+"/users/"+uid+"/consents/"+app.ID+"/revoke", nil, http.StatusSeeOther)
	if _, page := d.get(resp.Header.Get("Location")); !strings.Contains(page, `id="no-consents"`) || !strings.Contains(page, "Consent revoked") {
		t.Error("consent still listed")
	}

	events := peopleEvents(t, s, s.acme)
	if n := byOperator(t, events, "consent.revoked"); n != 1 {
		t.Errorf("%d consent.revoked", n)
	}
	revoked := 0
	for _, e := range events {
		if e.Type == "session.revoked" {
			revoked++
			if e.Actor.Kind != "operator" || e.Data["reason"] != "revoked_by_operator" {
				t.Errorf("session.revoked: %+v", e)
			}
		}
	}
	if revoked != 1 {
		t.Errorf("%d session.revoked events, want 1 (revoking twice is no new event)", revoked)
	}

	// Any token of the environment, pasted on the Sessions page, is revoked.
	backend := s.client(t, s.acme, "--name", "Backend", "--type", "confidential", "--grant", "client_credentials")
	_, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, backend.ID, backend.Secret)
	tok := body["access_token"].(string)
	if _, page := d.get("/e/" + s.acme + "/sessions"); !strings.Contains(page, `id="revoke-token"`) {
		t.Fatal("no token revocation form on the Sessions page")
	}
	resp, _ = expectPost(t, d, "/e/"+s.acme+"/tokens/revoke", url.Values{"token": {tok}}, http.StatusSeeOther)
	if _, page := d.get(resp.Header.Get("Location")); !strings.Contains(page, "Token revoked") || strings.Contains(page, tok) {
		t.Error("the token's revocation is not confirmed, or the page shows the token")
	}
	if _, intro := s.b.post(s.acme, "/oauth/introspect", url.Values{"token": {tok}}, backend.ID, backend.Secret); intro["active"] != false {
		t.Errorf("a token revoked in the dashboard is active: %v", intro)
	}
	expectPost(t, d, "/e/"+s.acme+"/tokens/revoke", url.Values{"jti": {"no-such-token"}}, http.StatusNotFound)
	expectPost(t, d, "/e/"+s.acme+"/tokens/revoke", url.Values{}, http.StatusBadRequest)
}

// rowOf returns the table row of page that contains needle ("" if none).
func rowOf(page, needle string) string {
	i := strings.Index(page, needle)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<tr")
	end := strings.Index(page[i:], "</tr>")
	if start < 0 || end < 0 {
		return ""
	}
	return page[start : i+end]
}

// emailsIn lists the emails of the users table, in order.
func emailsIn(page string) string {
	var out []string
	for _, m := range regexp.MustCompile(`<td><a href="/e/[^/]+/users/[^"]+">([^<]+)</a></td>`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, " ")
}
