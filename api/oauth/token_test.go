package oauth_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/oauth"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/tenants"
)

const host = "acme-dev.localhost:4000"

// rig is the real fiber application with the OAuth endpoints over the in-process harness,
// and one backend client allowed the scope read.
type rig struct {
	app      *fiber.App
	h        *apptest.Harness
	id, sec  string
	other    string // a second backend's Basic credentials
	otherSec string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	h := apptest.New(t)
	h.Environment(t, "acme", "acme-dev")
	for _, s := range []string{"read", "write"} {
		if _, err := h.App.CreateScope(t.Context(), app.CreateScope{Environment: "acme-dev", Name: s, Description: s}, apptest.Operator); err != nil {
			t.Fatal(err)
		}
	}
	r := &rig{h: h, app: api.New(api.Options{Directory: tenants.NewDirectory(h.Catalog, "localhost:4000", "http"),
		OAuth: oauth.New(oauth.Deps{App: h.App, Catalog: h.Catalog, Keys: h.Keys})})}
	register := func() (string, string) {
		reg, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: "acme-dev", Type: client.Confidential,
			Settings: client.Settings{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"read"}},
			Grantor:  client.OperatorGrantor}, apptest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		return reg.ClientID, reg.Secret
	}
	r.id, r.sec = register()
	r.other, r.otherSec = register()
	return r
}

func basic(id, sec string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
}

// post sends a form with Basic credentials and returns the answer.
func (r *rig) post(t *testing.T, path, auth string, form url.Values) (int, map[string]string, string) {
	t.Helper()
	req := httptest.NewRequest("POST", "http://"+host+path, strings.NewReader(form.Encode()))
	req.Host = host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth)
	resp, err := r.app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	hdr := map[string]string{}
	for _, k := range []string{"Cache-Control", "Pragma", "Www-Authenticate", "Content-Type", "Retry-After"} {
		hdr[k] = resp.Header.Get(k)
	}
	return resp.StatusCode, hdr, string(body)
}

// TestTokenEndpointRendering: the flows' outcomes as the token and revocation endpoints
// render them (RFC 6749 §5.1, §5.2; RFC 7009).
func TestTokenEndpointRendering(t *testing.T) {
	r := newRig(t)
	cc := func(scope string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		if scope != "" {
			v.Set("scope", scope)
		}
		return v
	}
	cases := []struct {
		name, path, auth string
		form             url.Values
		status           int
		body             string // exact body, or "" to check only the fields below
		wwwAuth          string
	}{
		{name: "scope not allowed", path: "/oauth/token", auth: basic(r.id, r.sec), form: cc("read write"), status: 400,
			body: `{"error":"invalid_scope","error_description":"scope \"write\" is not allowed for this client"}`},
		{name: "wrong secret", path: "/oauth/token", auth: basic(r.id, "nope"), form: cc(""), status: 401,
			body:    `{"error":"invalid_client","error_description":"client authentication failed"}`,
			wwwAuth: `Basic realm="paylent", charset="UTF-8"`},
		{name: "unsupported grant", path: "/oauth/token", auth: basic(r.id, r.sec), form: url.Values{"grant_type": {"password"}}, status: 400,
			body: `{"error":"unsupported_grant_type","error_description":"grant type \"password\" is not supported"}`},
		{name: "grant the client may not use", path: "/oauth/token", auth: basic(r.id, r.sec),
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, status: 400,
			body: `{"error":"unauthorized_client","error_description":"this client may not use the refresh_token grant"}`},
		{name: "a backend redeeming a code", path: "/oauth/token", auth: basic(r.id, r.sec),
			form: url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, status: 400,
			body: `{"error":"unauthorized_client","error_description":"this client may not use the authorization_code grant"}`},
		{name: "issued", path: "/oauth/token", auth: basic(r.id, r.sec), form: cc(""), status: 200},
		{name: "revoke: unknown token", path: "/oauth/revoke", auth: basic(r.id, r.sec), form: url.Values{"token": {"nope"}}, status: 200},
		{name: "revoke: missing token", path: "/oauth/revoke", auth: basic(r.id, r.sec), form: url.Values{}, status: 400,
			body: `{"error":"invalid_request","error_description":"missing parameter \"token\""}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := r.post(t, tc.path, tc.auth, tc.form)
			if status != tc.status || (tc.body != "" && body != tc.body) {
				t.Fatalf("%d %s, want %d %s", status, body, tc.status, tc.body)
			}
			if hdr["Cache-Control"] != "no-store" || hdr["Pragma"] != "no-cache" {
				t.Errorf("headers %v", hdr)
			}
			if hdr["Www-Authenticate"] != tc.wwwAuth {
				t.Errorf("WWW-Authenticate %q, want %q", hdr["Www-Authenticate"], tc.wwwAuth)
			}
			if tc.status == 200 && tc.path == "/oauth/token" {
				var tok map[string]any
				if err := json.Unmarshal([]byte(body), &tok); err != nil || tok["token_type"] != "Bearer" || tok["scope"] != "read" ||
					tok["access_token"] == "" || tok["expires_in"].(float64) != 3600 || tok["refresh_token"] != nil {
					t.Errorf("token response %s", body)
				}
			}
		})
	}
}

// TestRevokeAnotherClientsToken: a client cannot revoke what was issued to another.
func TestRevokeAnotherClientsToken(t *testing.T) {
	r := newRig(t)
	_, _, body := r.post(t, "/oauth/token", basic(r.id, r.sec), url.Values{"grant_type": {"client_credentials"}})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %s", body)
	}
	status, _, body := r.post(t, "/oauth/revoke", basic(r.other, r.otherSec), url.Values{"token": {tok.AccessToken}})
	if status != 400 || body != `{"error":"unauthorized_client","error_description":"the token was not issued to this client"}` {
		t.Fatalf("%d %s", status, body)
	}
	introspect := func() string {
		_, _, body := r.post(t, "/oauth/introspect", basic(r.other, r.otherSec), url.Values{"token": {tok.AccessToken}})
		return body
	}
	if b := introspect(); !strings.Contains(b, `"active":true`) {
		t.Fatalf("refused revocation changed the token: %s", b)
	}
	if status, _, _ := r.post(t, "/oauth/revoke", basic(r.id, r.sec), url.Values{"token": {tok.AccessToken}}); status != 200 {
		t.Fatalf("own revocation: %d", status)
	}
	if b := introspect(); b != `{"active":false}` {
		t.Fatalf("revoked token introspects as %s", b)
	}
}
