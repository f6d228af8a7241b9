package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// api calls the Management API of an instance.
type mgmtClient struct {
	t     *testing.T
	inst  *instance
	env   string
	token string
}

func (s *stack) mgmtToken(t *testing.T, env, scope string) string {
	t.Helper()
	cl := s.client(t, env, "--name", "Automation", "--type", "confidential", "--grant", "client_credentials",
		"--scope", "admin:read", "--scope", "admin:write", "--scope", "admin:users")
	st, body := s.a.post(env, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, cl.ID, cl.Secret)
	if st != 200 {
		t.Fatalf("management token: %d %v", st, body)
	}
	return body["access_token"].(string)
}

func (m *mgmtClient) call(method, path string, body any) (int, http.Header, map[string]any) {
	m.t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			r = strings.NewReader(string(b))
		}
	}
	req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d/api/v1%s", m.inst.port, path), r)
	req.Host = m.inst.host(m.env)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out) //nolint:errcheck // NDJSON and empty bodies are checked by callers
	return resp.StatusCode, resp.Header, out
}

// The tenant setup through the API, read-your-writes across instances, validation,
// authorization per RFC 6750, users, sessions, settings, keys, audit and the event stream.
func TestManagementAPI(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	token := s.mgmtToken(t, s.acme, "admin:read admin:write admin:users")
	a := &mgmtClient{t: t, inst: s.a, env: s.acme, token: token}
	b := &mgmtClient{t: t, inst: s.b, env: s.acme, token: token}

	st, hdr, body := a.call("POST", "/clients", map[string]any{"name": "My Documents App", "type": "confidential",
		"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"http://localhost:3000/callback"}})
	if st != 201 || body["client_secret"] == nil || hdr.Get("Paylent-Position") == "" {
		t.Fatalf("create client: %d %v", st, body)
	}
	id := body["client"].(map[string]any)["client_id"].(string)
	// Created on A, read at once on B with min_position: never a 404.
	if st, _, got := b.call("GET", "/clients/"+id+"?min_position="+hdr.Get("Paylent-Position"), nil); st != 200 || got["client"].(map[string]any)["name"] != "My Documents App" {
		t.Errorf("read your write on the other instance: %d %v", st, got)
	}
	for _, sc := range []map[string]string{{"name": "reports:read", "description": "Read reports"}, {"name": "reports:write", "description": "Write reports"}} {
		if st, _, body := a.call("POST", "/scopes", sc); st != 201 {
			t.Fatalf("create scope: %d %v", st, body)
		}
	}
	_, _, scopes := a.call("GET", "/scopes", nil)
	if fmt.Sprint(scopes["scopes"]) == "" || !strings.Contains(fmt.Sprint(scopes), "openid") || !strings.Contains(fmt.Sprint(scopes), "reports:write") {
		t.Errorf("scopes: %v", scopes)
	}
	for name, c := range map[string]struct {
		method, path string
		body         any
		status       int
		code, field  string
	}{
		"unknown field":         {"POST", "/clients", `{"name":"x","type":"public","grant_types":["authorization_code"],"colour":"red"}`, 400, "invalid_request", "colour"},
		"fragment redirect":     {"POST", "/clients", map[string]any{"name": "x", "type": "public", "grant_types": []string{"authorization_code"}, "redirect_uris": []string{"https://a.example/cb#x"}}, 400, "invalid_request", "redirect_uris"},
		"not JSON":              {"POST", "/scopes", `{"name":`, 400, "invalid_request", "body"},
		"wrong type":            {"POST", "/scopes", `{"name": 7, "description": "x"}`, 400, "invalid_request", "name"},
		"standard scope delete": {"DELETE", "/scopes/openid", nil, 400, "invalid_request", "name"},
		"unknown client":        {"GET", "/clients/nope-nope-nope", nil, 404, "not_found", ""},
		"unknown route":         {"GET", "/frobnicate", nil, 404, "not_found", ""},
		"bad settings":          {"PATCH", "/settings", map[string]any{"access_token_lifetime": 5}, 400, "invalid_request", "access_token_lifetime"},
	} {
		st, _, body := a.call(c.method, c.path, c.body)
		if st != c.status || body["error"] != c.code || (c.field != "" && body["field"] != c.field) {
			t.Errorf("%s: %d %v", name, st, body)
		}
	}

	// Authorization: no token, a token without the scope, another environment's token.
	anon := &mgmtClient{t: t, inst: s.a, env: s.acme}
	if st, hdr, _ := anon.call("GET", "/clients", nil); st != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d %v", st, hdr)
	}
	readOnly := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:read")}
	if st, hdr, body := readOnly.call("POST", "/scopes", map[string]string{"name": "x:y", "description": "x"}); st != 403 ||
		!strings.Contains(hdr.Get("WWW-Authenticate"), `error="insufficient_scope", scope="admin:write"`) || body["error"] != "insufficient_scope" {
		t.Errorf("read-only token writing: %d %v %v", st, hdr, body)
	}
	if st, _, _ := readOnly.call("GET", "/users", nil); st != 403 {
		t.Errorf("read-only token listing users: %d", st)
	}
	foreign := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.other, "admin:read")}
	if st, _, _ := foreign.call("GET", "/clients", nil); st != 401 {
		t.Errorf("another environment's token: %d", st)
	}
	if st, _, _ := (&mgmtClient{t: t, inst: s.a, env: s.other, token: foreign.token}).call("GET", "/clients/"+id, nil); st != 404 {
		t.Errorf(s.acme+"'s client seen from "+s.other+": %d", st)
	}

	checkUsersAndSessions(t, s, a)
	checkSettingsKeysAuditEvents(t, a, id)
}

func checkUsersAndSessions(t *testing.T, s *stack, a *mgmtClient) {
	t.Helper()
	for _, e := range []string{"zed@example.com", "amy@example.com", "bob@example.com"} {
		if st, _, body := a.call("POST", "/users", map[string]any{"email": e, "name": "N", "password": "long enough password"}); st != 201 {
			t.Fatalf("create user: %d %v", st, body)
		}
	}
	if st, _, body := a.call("POST", "/users", map[string]any{"email": "AMY@example.com", "name": "N", "password": "long enough password"}); st != 409 {
		t.Errorf("duplicate email: %d %v", st, body)
	}
	_, _, page := a.call("GET", "/users?limit=2", nil)
	users := page["users"].([]any)
	if len(users) != 2 || users[0].(map[string]any)["email"] != "amy@example.com" || page["next_cursor"] != "bob@example.com" {
		t.Fatalf("first page: %v", page)
	}
	_, _, page = a.call("GET", "/users?limit=2&cursor=bob@example.com", nil)
	if users := page["users"].([]any); len(users) != 1 || users[0].(map[string]any)["email"] != "zed@example.com" {
		t.Errorf("second page: %v", page)
	}
	_, _, found := a.call("GET", "/users?email=ZE", nil)
	zed := found["users"].([]any)[0].(map[string]any)
	zedID := zed["user_id"].(string)

	// Zed signs in in a browser; the session is listed; revoking it logs that browser out.
	issuer := s.a.issuer(s.acme)
	pc := newPageClient(t, issuer)
	_, pg := pc.do("GET", issuer+"/login", nil)
	f := fields(pg)
	if resp, _ := pc.do("POST", issuer+"/login", url.Values{"_csrf": {f.Get("_csrf")}, "email": {"zed@example.com"}, "password": {"long enough password"}}); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	_, _, list := a.call("GET", "/sessions?active=true&user_id="+zedID, nil)
	sessions := list["sessions"].([]any)
	if len(sessions) != 1 || sessions[0].(map[string]any)["ip"] == "" {
		t.Fatalf("sessions: %v", list)
	}
	sid := sessions[0].(map[string]any)["session_id"].(string)
	if st, _, body := a.call("POST", "/sessions/"+sid+"/revoke", nil); st != 200 || body["session"].(map[string]any)["active"] != false {
		t.Errorf("revoke session: %d %v", st, body)
	}
	if _, pg := pc.do("GET", issuer+"/login", nil); !strings.Contains(pg, `name="password"`) {
		t.Error("after revocation the browser is not asked to sign in")
	}
	if st, _, body := a.call("PATCH", "/users/"+zedID, map[string]any{"disabled": true, "name": "Zed"}); st != 200 || body["user"].(map[string]any)["disabled"] != true {
		t.Errorf("disable: %d %v", st, body)
	}
	if st, _, _ := a.call("DELETE", "/users/"+zedID, nil); st != 200 {
		t.Errorf("delete: %d", st)
	}
	if st, _, _ := a.call("GET", "/users/"+zedID, nil); st != 404 {
		t.Errorf("deleted user still there: %d", st)
	}
	if st, _, body := a.call("POST", "/users", map[string]any{"email": "zed@example.com", "name": "Zed again", "password": "long enough password"}); st != 201 {
		t.Errorf("a deleted user's address could not be reused: %d %v", st, body)
	}
}

func checkSettingsKeysAuditEvents(t *testing.T, a *mgmtClient, clientID string) {
	t.Helper()
	if st, _, body := a.call("PATCH", "/settings", map[string]any{"token_format": "opaque", "display_name": "Acme (test)"}); st != 200 ||
		body["settings"].(map[string]any)["token_format"] != "opaque" {
		t.Errorf("settings: %d %v", st, body)
	}
	_, _, keys := a.call("GET", "/keys", nil)
	if st, _, rotated := a.call("POST", "/keys/rotate", nil); st != 200 || len(rotated["keys"].([]any)) <= len(keys["keys"].([]any)) {
		t.Errorf("rotate: %d %v (before %v)", st, rotated, keys)
	}
	if st, _, status := a.call("GET", "/status", nil); st != 200 || status["head"] == nil {
		t.Errorf("status: %d %v", st, status)
	}
	_, _, audit := a.call("GET", "/audit?type=client.&subject="+clientID, nil)
	if evs := audit["events"].([]any); len(evs) != 1 || evs[0].(map[string]any)["type"] != "client.registered" {
		t.Errorf("audit: %v", audit)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/api/v1/events?after=0", a.inst.port), nil)
	req.Host = a.inst.host(a.env)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, sc := 0, bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil || e["environment"] != a.env {
			t.Fatalf("events line: %s", sc.Text())
		}
		n++
	}
	if resp.Header.Get("Content-Type") != "application/x-ndjson" || n < 10 {
		t.Errorf("events: %s, %d lines", resp.Header.Get("Content-Type"), n)
	}
}
