package resourceserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// middlewareCases are the answers RFC 6750 asks for.
func middlewareCases(iss *testIssuer) []struct {
	name   string
	auth   []string
	status int
	want   string
} {
	now := time.Now()
	good := iss.sign("k1", jwa.RS256, iss.claims(now))
	c := iss.claims(now)
	c["scope"] = "openid"
	unscoped := iss.sign("k1", jwa.RS256, c)
	c = iss.claims(now)
	c["exp"] = now.Add(-time.Hour).Unix()
	expired := iss.sign("k1", jwa.RS256, c)
	realm := `Bearer realm="` + testAudience + `"`
	return []struct {
		name   string
		auth   []string
		status int
		want   string
	}{
		{"no header", nil, 401, realm},
		{"another scheme", []string{"Basic dXNlcjpwYXNz"}, 401, realm},
		{"empty bearer", []string{"Bearer "}, 400, realm + `, error="invalid_request", error_description="the Authorization header is not a bearer token"`},
		{"bearer with spaces", []string{"Bearer a b"}, 400, realm + `, error="invalid_request", error_description="the Authorization header is not a bearer token"`},
		{"garbage token", []string{"Bearer abc.def.ghi"}, 401, realm + `, error="invalid_token", error_description="the access token is malformed"`},
		{"expired", []string{"Bearer " + expired}, 401, realm + `, error="invalid_token", error_description="the access token has expired"`},
		{"missing scope", []string{"Bearer " + unscoped}, 403, realm + `, error="insufficient_scope", error_description="the access token lacks a required scope", scope="docs:read"`},
		{"valid, scheme in lower case", []string{"bearer " + good}, 200, ""},
		{"valid", []string{"Bearer " + good}, 200, ""},
	}
}

func TestHTTPMiddleware(t *testing.T) {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	v := iss.verifier(nil)
	var seen *Claims
	h := v.RequireScope("docs:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = ClaimsFromContext(r.Context())
		io.WriteString(w, "ok") //nolint:errcheck // test
	}))
	for _, c := range middlewareCases(iss) {
		t.Run(c.name, func(t *testing.T) {
			seen = nil
			req := httptest.NewRequest(http.MethodGet, "/documents", nil)
			for _, a := range c.auth {
				req.Header.Add("Authorization", a)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			checkAnswer(t, c.status, c.want, rec.Result())
			if c.status == 200 && (seen == nil || seen.Subject != "user-1") {
				t.Errorf("claims in the context: %+v", seen)
			}
		})
	}
	req := httptest.NewRequest(http.MethodGet, "/documents", nil)
	req.Header.Add("Authorization", "Bearer a")
	req.Header.Add("Authorization", "Bearer b")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 {
		t.Errorf("two Authorization headers: %d", rec.Code)
	}

	// The issuer cannot be reached: 503, no challenge (the token was not judged).
	down := newIssuer(t)
	dv := down.verifier(nil)
	down.srv.Close()
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "/documents", nil)
	req.Header.Set("Authorization", "Bearer "+iss.sign("k1", jwa.RS256, iss.claims(time.Now())))
	dv.RequireScope()(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != 503 || rec.Header().Get("WWW-Authenticate") != "" || !jsonHas(rec.Body.Bytes(), "error", CodeUnavailable) {
		t.Errorf("issuer down: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

// checkAnswer checks status, challenge, body and caching of a middleware answer.
func checkAnswer(t *testing.T, status int, challenge string, resp *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || resp.Header.Get("WWW-Authenticate") != challenge {
		t.Fatalf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), status, challenge)
	}
	switch {
	case status == 200:
		if string(body) != "ok" {
			t.Errorf("body %q", body)
		}
		return
	case resp.Header.Get("Cache-Control") != "no-store":
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	var m map[string]any
	if status == 401 && len(body) == 0 && challenge == `Bearer realm="`+testAudience+`"` {
		return // no token: no error code, no body
	}
	if err := json.Unmarshal(body, &m); err != nil || m["error"] == nil || m["error_description"] == nil ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("body %q (%s)", body, resp.Header.Get("Content-Type"))
	}
	if status == 403 && m["scope"] != "docs:read" {
		t.Errorf("403 body names no scope: %s", body)
	}
}

func jsonHas(b []byte, key, value string) bool {
	var m map[string]any
	return json.Unmarshal(b, &m) == nil && m[key] == value
}

func TestErrorResponseQuotesSafely(t *testing.T) {
	v := must(New(Config{Issuer: "http://x", Audience: `we"ird\realm`}))
	_, h, _ := v.ErrorResponse(InsufficientScope("a", `b"c`))
	if got := h.Get("WWW-Authenticate"); got != `Bearer realm="weirdrealm", error="insufficient_scope", error_description="the access token lacks a required scope", scope="a bc"` {
		t.Errorf("challenge: %s", got)
	}
}
