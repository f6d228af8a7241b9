package main_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/paylent/paylent/api/dashboard"
)

// An operator of another account cannot see or change acme-test through any page or form
// of the dashboard: every route under /e/:env (enumerated from the dashboard itself, so a
// new page is covered the day it is added) answers 404 exactly as for an environment that
// does not exist, writes nothing, and shows none of acme-test's data. The rightful operator
// reaches every page, so the ids used are real.
func TestDashboardIsolation(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	owner := newDash(t, s.a)
	ownerEmail, ownerPassword := s.operator(t, s.account, "ops@acme.example")
	owner.signIn(ownerEmail, ownerPassword)
	var op struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal([]byte(s.run(t, "operators", "create", "--account", s.account, "--email", ownerEmail, "--json")), &op); err != nil {
		t.Fatal(err)
	}
	stranger := newDash(t, s.b)
	stranger.signIn(s.operator(t, s.otherAccount, "ops@other.example"))

	app := s.client(t, s.acme, "--name", "Secret App", "--type", "confidential", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	userID := s.userJSON(t, s.acme, "zoe@example.com", "Zoe")
	pc := newPageClient(t, s.a.issuer(s.acme))
	_, page := pc.do("GET", s.a.issuer(s.acme)+"/oauth/authorize?"+url.Values{"response_type": {"code"}, "client_id": {app.ID},
		"redirect_uri": {"https://app.example.com/cb"}, "scope": {"openid"}, "state": {"s"}}.Encode(), nil)
	f := fields(page)
	if resp, _ := pc.do("POST", s.a.issuer(s.acme)+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"email": {"zoe@example.com"}, "password": {"correct horse battery"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	// Zoe starts setting up an authenticator app: a factor (pending) whose pages the routes have.
	_, page = pc.do("GET", s.a.issuer(s.acme)+"/account/security", nil)
	_, page = pc.do("POST", s.a.issuer(s.acme)+"/account/totp", url.Values{"_csrf": {fields(page).Get("_csrf")}})
	totp := factorID.FindStringSubmatch(page)
	if totp == nil {
		t.Fatalf("no pending authenticator:\n%.500s", page)
	}
	api := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:users")}
	_, _, list := api.call("GET", "/sessions?user_id="+userID, nil)
	sessions, _ := list["sessions"].([]any)
	if len(sessions) != 1 {
		t.Fatalf("sessions: %v", list)
	}
	sessionID := sessions[0].(map[string]any)["session_id"].(string)

	values := map[string]string{"clients": app.ID, "users": userID, "sessions": sessionID, "scopes": "read:documents", "consents": app.ID,
		"operators": op.UserID, "factors": totp[1]}
	param := regexp.MustCompile(`/([a-z]+)/:[a-z]+`)
	secrets := []string{app.ID, userID, sessionID, "zoe@example.com", "Secret App", ownerEmail, totp[1]}

	if _, home := stranger.get("/"); strings.Contains(home, s.acme) {
		t.Fatal("the stranger's switcher lists " + s.acme)
	}
	before := eventCount(t, s)
	routes := dashboard.EnvironmentRoutes()
	if len(routes) < 10 {
		t.Fatalf("only %d routes found", len(routes))
	}
	for _, r := range routes {
		path := strings.Replace(r.Path, ":env", s.acme, 1)
		path = param.ReplaceAllStringFunc(path, func(m string) string {
			seg := param.FindStringSubmatch(m)[1]
			v, ok := values[seg]
			if !ok {
				t.Fatalf("route %s %s: give the test a real value for the parameter after /%s/", r.Method, r.Path, seg)
			}
			return "/" + seg + "/" + url.PathEscape(v)
		})
		var resp *http.Response
		var body string
		if r.Method == http.MethodGet {
			resp, body = stranger.do("GET", path, nil)
			if code, page := owner.get(path); code != http.StatusOK {
				t.Errorf("GET %s: the owner gets %d\n%.300s", path, code, page)
			}
		} else {
			resp, body = stranger.post(path, url.Values{"name": {"hijack"}, "description": {"x"}, "email": {"x@example.com"}})
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s by another account's operator: %d", r.Method, path, resp.StatusCode)
		}
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s %s shows %q to another account's operator", r.Method, path, s)
			}
		}
	}
	if after := eventCount(t, s); after != before {
		t.Fatalf("the stranger's requests wrote %d events", after-before)
	}

	// CSRF: the owner's own forms are refused without the token or from another origin.
	for name, req := range map[string]func() (*http.Response, string){
		"no token": func() (*http.Response, string) {
			return owner.do("POST", "/e/"+s.acme+"/scopes", url.Values{"name": {"x:y"}, "description": {"x"}})
		},
		"other origin": func() (*http.Response, string) {
			req, _ := http.NewRequest("POST", owner.base+"/e/"+s.acme+"/scopes", strings.NewReader(url.Values{"_csrf": {owner.csrf},
				"name": {"x:y"}, "description": {"x"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example.com")
			resp, err := owner.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp, ""
		},
	} {
		if resp, _ := req(); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if after := eventCount(t, s); after != before {
		t.Fatalf("refused forms wrote %d events", after-before)
	}
}
