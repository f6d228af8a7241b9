package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	auditRowID    = regexp.MustCompile(`<tr id="event-(\d+)">`)
	auditAfter    = regexp.MustCompile(`data-after="(\d+)"`)
	auditOlder    = regexp.MustCompile(`<a href="([^"]*)" id="audit-older"`)
	auditOperator = regexp.MustCompile(`<span class="tag muted">operator</span> <code>([^<]+)</code>`)
)

// auditPositions are the event positions of an audit page or rows fragment, in page order.
func auditPositions(t *testing.T, page string) []int64 {
	t.Helper()
	var out []int64
	for _, m := range auditRowID.FindAllStringSubmatch(page, -1) {
		p, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, p)
	}
	return out
}

func newestFirst(ps []int64) bool {
	for i := 1; i < len(ps); i++ {
		if ps[i] >= ps[i-1] {
			return false
		}
	}
	return true
}

// The Audit log: newest first, only this environment, filters (type, subject, actor, time)
// with precise refusals, paging by cursor, and the live rows fragment that returns only
// newer matching events. The Management API reads newest first too (order=newest).
func TestDashboardAudit(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	email, pw := s.operator(t, s.account, "ops@acme.example")
	d := newDash(t, s.a)
	d.signIn(email, pw)
	alice := s.userJSON(t, s.acme, "alice@example.com", "Alice")
	s.userJSON(t, s.other, "eve@other.example", "Eve")
	if resp, page := d.post("/e/"+s.acme+"/clients", url.Values{"name": {"Audit App"}, "type": {"public"},
		"grant_types": {"authorization_code"}, "redirect_uris": {"http://localhost:3000/cb"}, "scopes": {"openid"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create client: %d %s", resp.StatusCode, page)
	}
	bob := s.userJSON(t, s.acme, "bob@example.com", "Bob")

	code, page := d.get("/e/" + s.acme + "/audit")
	all := auditPositions(t, page)
	if code != http.StatusOK || len(all) < 5 || !newestFirst(all) || !strings.Contains(page, `aria-current="page">Audit log`) {
		t.Fatalf("audit page: %d, positions %v\n%s", code, all, page)
	}
	if strings.Contains(page, "eve@other.example") || !strings.Contains(page, "bob@example.com") {
		t.Error("the audit page shows another environment's events, or not its own")
	}
	if !strings.Contains(page, "<details>") || !strings.Contains(page, `id="filter-type"`) {
		t.Error("no data disclosure or no filter form")
	}
	if strings.Contains(page, "argon2") || (strings.Contains(page, "private_key") && !strings.Contains(page, "private_key&#34;: &#34;(hidden)")) {
		t.Error("the audit page shows a password hash or a private key")
	}
	for _, p := range []string{"/e/" + s.other + "/audit", "/e/" + s.other + "/audit/rows?after=0"} {
		if code, _ := d.get(p); code != http.StatusNotFound {
			t.Errorf("%s for an operator of another account: %d", p, code)
		}
	}
	checkAuditFilters(t, d, s.acme, alice, bob)
	api := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:read admin:write")}
	checkAuditPaging(t, d, api)
	checkAuditRows(t, s, d)
	t.Run("ManagementAPINewestFirst", func(t *testing.T) { checkAuditNewest(t, api) })
}

// checkAuditFilters: each filter narrows the page; bad values are refused naming the field.
func checkAuditFilters(t *testing.T, d *dash, env, alice, bob string) {
	t.Helper()
	_, page := d.get("/e/" + env + "/audit?type=user.created")
	if ps := auditPositions(t, page); len(ps) != 2 || !newestFirst(ps) || strings.Count(page, "<code>user.created</code>") != 2 {
		t.Errorf("type=user.created: positions %v", ps)
	}
	_, page = d.get("/e/" + env + "/audit?subject=" + bob)
	if ps := auditPositions(t, page); len(ps) == 0 || strings.Contains(page, alice) {
		t.Errorf("subject=bob: positions %v, alice's events shown: %v", ps, strings.Contains(page, alice))
	}
	_, page = d.get("/e/" + env + "/audit?type=client.registered")
	m := auditOperator.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("client.registered by the operator not shown:\n%s", page)
	}
	_, page = d.get("/e/" + env + "/audit?actor=" + url.QueryEscape(m[1]))
	if ps := auditPositions(t, page); len(ps) != 1 || !strings.Contains(page, "<code>client.registered</code>") || strings.Contains(page, "<code>user.created</code>") {
		t.Errorf("actor=%s: %v", m[1], ps)
	}
	if _, page = d.get("/e/" + env + "/audit?from=2000-01-01T00:00&type=user.created"); len(auditPositions(t, page)) != 2 ||
		!strings.Contains(page, `value="2000-01-01T00:00:00"`) {
		t.Error("a datetime-local from= is not applied or not kept in the form")
	}
	if _, page = d.get("/e/" + env + "/audit?to=2000-01-01T00:00:00Z"); len(auditPositions(t, page)) != 0 || !strings.Contains(page, "No events match") {
		t.Error("to= in the past still shows events")
	}
	for q, want := range map[string]string{
		"from=yesterday":                   "from: must be an RFC 3339 time",
		"before=-3":                        "before: must be a position",
		"type=" + strings.Repeat("x", 401): "type: must be at most 400 characters",
		"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z": "to: must not be before from",
	} {
		if code, page := d.get("/e/" + env + "/audit?" + q); code != http.StatusBadRequest || !strings.Contains(page, want) {
			t.Errorf("%s: %d, want 400 with %q", q[:min(len(q), 40)], code, want)
		}
	}
}

// checkAuditPaging: 55 more scopes make 57 scope events, two pages; the Older link of the
// first leads to the rest, which has a link back and no live updates.
func checkAuditPaging(t *testing.T, d *dash, api *mgmtClient) {
	t.Helper()
	for i := 0; i < 55; i++ {
		if st, _, body := api.call("POST", "/scopes", map[string]string{"name": fmt.Sprintf("paging:%02d", i), "description": "Paging"}); st != http.StatusCreated {
			t.Fatalf("create scope: %d %v", st, body)
		}
	}
	_, first := d.get("/e/" + api.env + "/audit?type=scope.")
	p1 := auditPositions(t, first)
	older := auditOlder.FindStringSubmatch(first)
	if len(p1) != 50 || !newestFirst(p1) || older == nil || !strings.Contains(first, "data-live=") {
		t.Fatalf("first page of scope events: %d rows, older link %v", len(p1), older)
	}
	_, second := d.get(html.UnescapeString(older[1]))
	p2 := auditPositions(t, second)
	if len(p2) != 57-50 || !newestFirst(p2) || p2[0] >= p1[len(p1)-1] || strings.Contains(second, "data-live=") ||
		!strings.Contains(second, `id="audit-newest"`) || auditOlder.MatchString(second) {
		t.Errorf("second page: positions %v after %d; live %v", p2, p1[len(p1)-1], strings.Contains(second, "data-live="))
	}
}

// checkAuditRows: the live fragment has nothing after the newest page's cursor, then only
// the newer events that match the filters, and a cursor past them.
func checkAuditRows(t *testing.T, s *stack, d *dash) {
	t.Helper()
	_, page := d.get("/e/" + s.acme + "/audit?type=user.created")
	after := auditAfter.FindStringSubmatch(page)
	if after == nil {
		t.Fatal("the newest page has no live cursor")
	}
	rows := func(q string) (string, string) {
		resp, body := d.do("GET", "/e/"+s.acme+"/audit/rows?"+q, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Audit-Cursor") == "" {
			t.Fatalf("rows %s: %d %s", q, resp.StatusCode, body)
		}
		return resp.Header.Get("X-Audit-Cursor"), body
	}
	if _, body := rows("type=user.created&after=" + after[1]); len(auditPositions(t, body)) != 0 {
		t.Errorf("rows after the newest: %s", body)
	}
	carol := s.userJSON(t, s.acme, "carol@example.com", "Carol")
	s.userJSON(t, s.other, "mallory@other.example", "Mallory")
	cursor, body := rows("type=user.created&after=" + after[1])
	ps := auditPositions(t, body)
	head, _ := strconv.ParseInt(after[1], 10, 64)
	if len(ps) != 1 || ps[0] <= head || !strings.Contains(body, carol) || strings.Contains(body, "mallory") || strings.Contains(body, "<html") {
		t.Fatalf("rows after %d: %v\n%s", head, ps, body)
	}
	if c, _ := strconv.ParseInt(cursor, 10, 64); c < ps[0] {
		t.Errorf("cursor %s is before the row it returned (%d)", cursor, ps[0])
	}
	if _, body := rows("type=client.&after=" + after[1]); len(auditPositions(t, body)) != 0 {
		t.Errorf("rows ignore the filter: %s", body)
	}
	if resp, _ := d.do("GET", "/e/"+s.acme+"/audit/rows?after=x", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("rows?after=x: %d", resp.StatusCode)
	}
}

// checkAuditNewest: order=newest pages backwards by next_cursor; the default stays oldest
// first; a bad order is a 400 naming it.
func checkAuditNewest(t *testing.T, api *mgmtClient) {
	positions := func(body map[string]any) []int64 {
		var out []int64
		evs, _ := body["events"].([]any)
		for _, e := range evs {
			out = append(out, int64(e.(map[string]any)["position"].(float64)))
		}
		return out
	}
	st, _, newest := api.call("GET", "/audit?type=scope.&order=newest&limit=10", nil)
	p1 := positions(newest)
	if st != http.StatusOK || len(p1) != 10 || !newestFirst(p1) || newest["next_cursor"] != float64(p1[9]) {
		t.Fatalf("order=newest: %d %v next %v", st, p1, newest["next_cursor"])
	}
	_, _, next := api.call("GET", fmt.Sprintf("/audit?type=scope.&order=newest&limit=10&cursor=%d", p1[9]), nil)
	if p2 := positions(next); len(p2) != 10 || !newestFirst(p2) || p2[0] >= p1[9] {
		t.Errorf("order=newest, second page: %v after %v", p2, p1)
	}
	_, _, oldest := api.call("GET", "/audit?type=scope.&limit=100", nil)
	po := positions(oldest)
	if len(po) != 57 || po[0] >= po[1] || po[len(po)-1] != p1[0] || oldest["next_cursor"] != nil {
		t.Errorf("default order: %d events, first %v, last %v (newest %d), next %v", len(po), po[:2], po[len(po)-1], p1[0], oldest["next_cursor"])
	}
	_, _, tail := api.call("GET", fmt.Sprintf("/audit?type=scope.&order=newest&cursor=%d", po[2]), nil)
	if pt := positions(tail); len(pt) != 2 || pt[0] != po[1] || pt[1] != po[0] || tail["next_cursor"] != nil {
		t.Errorf("order=newest before the third: %v, next %v", pt, tail["next_cursor"])
	}
	for q, field := range map[string]string{"order=sideways": "order", "order=newest&cursor=-1": "cursor", "order=newest&limit=0": "limit"} {
		if st, _, body := api.call("GET", "/audit?"+q, nil); st != http.StatusBadRequest || body["error"] != "invalid_request" || body["field"] != field {
			t.Errorf("%s: %d %v", q, st, body)
		}
	}
}

// Settings: the form changes the environment (login page, token lifetime, registration) on
// every instance through one environment.settings_changed event by the operator; bad input
// is refused with the field's name; key rotation adds a key to the JWKS.
func TestDashboardSettings(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	email, pw := s.operator(t, s.account, "ops@acme.example")
	d := newDash(t, s.a)
	d.signIn(email, pw)
	code, page := d.get("/e/" + s.acme + "/settings")
	issuer := s.a.issuer(s.acme)
	if code != http.StatusOK || !strings.Contains(page, issuer+"/.well-known/openid-configuration") ||
		!strings.Contains(page, ">primary<") || !strings.Contains(page, ">next<") || !strings.Contains(page, `value="3600"`) {
		t.Fatalf("settings page: %d\n%s", code, page)
	}
	form := url.Values{"display_name": {"Acme Docs (staging)"}, "logo_url": {""}, "session_lifetime": {"604800"},
		"access_token_lifetime": {"900"}, "refresh_token_lifetime": {"604800"}, "token_format": {"jwt"}, "registration_enabled": {"on"},
		"token_requests": {"10"}, "token_window": {"60"}, "login_requests": {"10"}, "login_window": {"60"},
		"management_requests": {"100"}, "management_window": {"60"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vals := range form {
			f[key] = append([]string(nil), vals...)
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	checkSettingsRefused(t, d, s.acme, with)
	resp, page := d.post("/e/"+s.acme+"/settings", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "ok=settings-saved") {
		t.Fatalf("save settings: %d %s", resp.StatusCode, page)
	}
	if _, page := d.get(resp.Header.Get("Location")); !strings.Contains(page, "Settings saved.") || !strings.Contains(page, `value="900"`) ||
		!strings.Contains(page, "15 minutes") {
		t.Errorf("after saving:\n%s", page)
	}
	if resp, _ := d.post("/e/"+s.acme+"/settings", form); !strings.Contains(resp.Header.Get("Location"), "ok=settings-unchanged") {
		t.Errorf("saving the same settings again: %s", resp.Header.Get("Location"))
	}
	for _, inst := range []*instance{s.a, s.b} {
		eventually(t, 5*time.Second, "display name on the login page", func() bool {
			_, _, body := inst.getRaw(s.acme, "/login")
			return strings.Contains(string(body), "Acme Docs (staging)")
		})
	}
	app := s.client(t, s.acme, "--name", "Worker", "--type", "confidential", "--grant", "client_credentials", "--scope", "read:documents")
	if st, tok := s.b.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, app.ID, app.Secret); st != 200 || tok["expires_in"] != float64(900) {
		t.Errorf("token after the lifetime change: %d %v", st, tok)
	}
	// Unchecking the box closes registration.
	if resp, _ := d.post("/e/"+s.acme+"/settings", with("registration_enabled", "")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close registration: %d", resp.StatusCode)
	}
	eventually(t, 5*time.Second, "registration closed", func() bool {
		st, _, _ := s.b.postRaw(s.acme, "/register", "application/json", `{"email":"late@example.com"}`, "", "")
		return st == http.StatusForbidden
	})
	checkSettingsEvents(t, s)
	checkKeyRotation(t, s, d)
}

// checkSettingsRefused: bad numbers are refused naming the field, keeping what was typed.
func checkSettingsRefused(t *testing.T, d *dash, env string, with func(k, v string) url.Values) {
	t.Helper()
	for field, want := range map[string]string{
		"abc": "access token lifetime: must be a whole number",
		"10":  "access token lifetime: must be between 60 and 86400 seconds",
	} {
		resp, page := d.post("/e/"+env+"/settings", with("access_token_lifetime", field))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, want) || !strings.Contains(page, `value="Acme Docs (staging)"`) {
			t.Errorf("access_token_lifetime=%s: %d, want 400 with %q and the typed values", field, resp.StatusCode, want)
		}
	}
	if resp, _ := d.post("/e/"+env+"/settings", with("token_window", "99999999999")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a huge window: %d", resp.StatusCode)
	}
}

// checkKeyRotation: the JWKS gains the new next key on every instance (the old primary stays
// until its tokens expire); another account's environment is out of reach.
func checkKeyRotation(t *testing.T, s *stack, d *dash) {
	t.Helper()
	before := jwksCount(t, s.a, s.acme)
	resp, page := d.post("/e/"+s.acme+"/settings/keys/rotate", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "ok=keys-rotated") {
		t.Fatalf("rotate keys: %d %s", resp.StatusCode, page)
	}
	if _, page := d.get(resp.Header.Get("Location")); !strings.Contains(page, ">retired<") || !strings.Contains(page, "Signing keys rotated") {
		t.Errorf("after rotating:\n%s", page)
	}
	for _, inst := range []*instance{s.a, s.b} {
		eventually(t, 5*time.Second, "a key more in the JWKS", func() bool { return jwksCount(t, inst, s.acme) == before+1 })
	}
	if out := s.run(t, "events", "--env", s.acme); !strings.Contains(out, `"type":"signing_key.promoted"`) {
		t.Error("no signing_key.promoted event")
	}
	if resp, _ := d.post("/e/"+s.other+"/settings/keys/rotate", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("rotating another account's keys: %d", resp.StatusCode)
	}
}

// checkSettingsEvents: two settings changes (the refused and unchanged saves wrote none),
// each by the signed-in operator with their IP.
func checkSettingsEvents(t *testing.T, s *stack) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(s.run(t, "events", "--env", s.acme)), "\n") {
		var ev struct {
			Type  string `json:"type"`
			Actor struct {
				Kind, ID, IP string
			} `json:"actor"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Type != "environment.settings_changed" {
			continue
		}
		n++
		if ev.Actor.Kind != "operator" || ev.Actor.ID == "" || ev.Actor.IP == "" {
			t.Errorf("settings_changed by %+v, want the operator with an IP", ev.Actor)
		}
	}
	if n != 2 {
		t.Errorf("%d environment.settings_changed events, want 2", n)
	}
}

func jwksCount(t *testing.T, inst *instance, env string) int {
	t.Helper()
	_, body := inst.get(inst.host(env), "/.well-known/jwks.json")
	keys, _ := body["keys"].([]any)
	return len(keys)
}

// The Dev mailbox shows an environment's own sign-up mail, passcode included, and never
// another environment's.
func TestDashboardMailbox(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	for env, addr := range map[string]string{s.acme: "newbie@example.com", s.other: "stranger@other.example"} {
		if st, _, body := s.a.postRaw(env, "/register", "application/json", `{"email":"`+addr+`"}`, "", ""); st != http.StatusAccepted {
			t.Fatalf("register %s at %s: %d %s", addr, env, st, body)
		}
	}
	// The mail is in the outbox of the instance whose mailer sent it: look there.
	var inst *instance
	var code string
	eventually(t, 15*time.Second, "both passcode mails", func() bool {
		for _, i := range []*instance{s.a, s.b} {
			files, _ := filepath.Glob(filepath.Join(i.dataDir, "outbox", "*.eml"))
			found := 0
			for _, f := range files {
				b, _ := os.ReadFile(f)
				if strings.Contains(string(b), "To: newbie@example.com\r\n") {
					code = passcodeLine.FindStringSubmatch(string(b))[1]
					found++
				}
				if strings.Contains(string(b), "To: stranger@other.example\r\n") {
					found++
				}
			}
			if found == 2 {
				inst = i
				return true
			}
		}
		return false
	})
	acme, pw := s.operator(t, s.account, "ops@acme.example")
	d := dashOn(t, inst)
	d.signIn(acme, pw)
	st, page := d.get("/e/" + s.acme + "/mailbox")
	if st != http.StatusOK || !strings.Contains(page, "newbie@example.com") || !strings.Contains(page, "Your code is "+code) ||
		!strings.Contains(page, `href="/e/`+s.acme+`/mailbox" aria-current="page"`) {
		t.Fatalf("acme's mailbox: %d\n%s", st, page)
	}
	if strings.Contains(page, "stranger@other.example") {
		t.Error("acme's mailbox shows " + s.other + "'s mail")
	}
	if st, _ := d.get("/e/" + s.other + "/mailbox"); st != http.StatusNotFound {
		t.Errorf("another account's mailbox: %d", st)
	}
	other, pw := s.operator(t, s.otherAccount, "ops@other.example")
	o := dashOn(t, inst)
	o.signIn(other, pw)
	if st, page := o.get("/e/" + s.other + "/mailbox"); st != http.StatusOK || !strings.Contains(page, "stranger@other.example") ||
		strings.Contains(page, "newbie@example.com") || strings.Contains(page, code) {
		t.Errorf(s.other+"'s mailbox: %d\n%s", st, page)
	}
}

// dashOn is newDash for whichever instance serves it: every request dials inst, whatever
// the host (both instances answer for the same public domain).
func dashOn(t *testing.T, inst *instance) *dash {
	d := newDash(t, inst)
	jar, _ := cookiejar.New(nil)
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(inst.port))
	d.c = &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, target)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return d
}

// In the browser: the newest page of the Audit log puts new events on top by itself
// (dashboard.js polls the rows fragment under the page's CSP), and an event's data opens in
// place. The pages are photographed into artifacts/dashboard-ops for a person to check.
func TestDashboardAuditLive(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	email, password := s.operator(t, s.account, "ops@acme.example")
	s.a.postRaw(s.acme, "/register", "application/json", `{"email":"newbie@example.com"}`, "", "")
	dashURL := s.a.dashboardURL()
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	sh := &shooter{t: t, ctx: ctx, dir: artifacts(t, "dashboard-ops")}
	run(t, ctx, chromedp.Navigate(dashURL), chromedp.WaitVisible(chromedp.CSS("#signin")), chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#email")), chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#register-application"))) // first-party: no consent step
	run(t, ctx, chromedp.Navigate(dashURL+"/e/"+s.acme+"/audit"), chromedp.WaitVisible(chromedp.CSS("#audit-live")))
	first := eval[string](t, ctx, `document.querySelector("#audit-rows tr").id`)
	id := s.userJSON(t, s.acme, "live@example.com", "Live")
	eventually(t, 10*time.Second, "the new user's events on top", func() bool {
		return eval[bool](t, ctx, `Array.from(document.querySelectorAll("#audit-rows tr.fresh")).some(tr => tr.textContent.includes("user/`+s.acme+`/`+id+`"))`)
	})
	if got := eval[string](t, ctx, `document.querySelector("#audit-rows tr:first-child").id`); got == first ||
		!strings.Contains(text(ctx, "#audit-live"), "new event") {
		t.Errorf("top row %s (was %s), status %q", got, first, text(ctx, "#audit-live"))
	}
	ids := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#audit-rows tr")).map(tr => tr.id)`)
	var ps []int64
	for _, id := range ids {
		p, _ := strconv.ParseInt(strings.TrimPrefix(id, "event-"), 10, 64)
		ps = append(ps, p)
	}
	if !newestFirst(ps) {
		t.Errorf("rows after the live update are not newest first, once each: %v", ps)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("#audit-rows tr:first-child summary")), chromedp.WaitVisible(chromedp.CSS("#audit-rows tr:first-child pre")))
	if data := text(ctx, "#audit-rows tr:first-child pre"); !strings.Contains(data, "{") {
		t.Errorf("event data: %q", data)
	}
	sh.shot("audit")
	for _, section := range []string{"settings", "mailbox"} {
		run(t, ctx, chromedp.Navigate(dashURL+"/e/"+s.acme+"/"+section), chromedp.WaitVisible(chromedp.CSS("main h1")))
		sh.shot(section)
	}
	run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(dashURL+"/e/"+s.acme+"/audit"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	sh.shot("phone-audit")
	if w := eval[float64](t, ctx, "document.documentElement.scrollWidth"); w > 390 {
		t.Errorf("the audit page scrolls sideways on a phone: %v px wide", w)
	}
}
