package main_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/paylent/paylent/domain/authcode"
)

// Access tokens name the APIs whose scopes they carry; resource indicators narrow them;
// unknown resources are invalid_target; OIDC-only tokens are for UserInfo.
func TestAPIAudiences(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	docs, billing := "https://docs.example.com", "http://localhost:4100"
	s.run(t, "apis", "create", "--env", s.acme, "--identifier", docs, "--name", "Documents API")
	s.run(t, "apis", "create", "--env", s.acme, "--identifier", billing, "--name", "Billing API")
	s.run(t, "scopes", "create", "--env", s.acme, "--api", docs, "--name", "docs:read", "--description", "Read documents")
	s.run(t, "scopes", "create", "--env", s.acme, "--api", billing, "--name", "billing:read", "--description", "Read invoices")
	if code, out, _ := cli(t, s.cliEnv, "scopes", "create", "--env", s.acme, "--api", "https://nope.example.com", "--name", "x:y", "--description", "x"); code == 0 {
		t.Errorf("a scope of an unknown API was created: %s", out)
	}
	if out := s.run(t, "apis", "list", "--env", s.acme); !strings.Contains(out, "docs:read") || !strings.Contains(out, billing) {
		t.Errorf("apis list:\n%s", out)
	}
	cl := s.client(t, s.acme, "--name", "Backend", "--type", "confidential", "--grant", "client_credentials",
		"--scope", "docs:read", "--scope", "billing:read", "--scope", "read:documents")
	token := func(form url.Values) (int, map[string]any, []string) {
		form.Set("grant_type", "client_credentials")
		st, body := s.a.post(s.acme, "/oauth/token", form, cl.ID, cl.Secret)
		tok, _ := body["access_token"].(string)
		if tok == "" {
			return st, body, nil
		}
		parsed, err := jwt.ParseInsecure([]byte(tok))
		if err != nil {
			t.Fatal(err)
		}
		return st, body, parsed.Audience()
	}
	cases := []struct {
		name  string
		form  url.Values
		aud   string
		scope string
		err   string
	}{
		{"both APIs", url.Values{"scope": {"docs:read billing:read"}}, billing + "," + docs, "billing:read docs:read", ""},
		{"narrowed to one", url.Values{"scope": {"docs:read billing:read"}, "resource": {docs}}, docs, "docs:read", ""},
		{"two resources", url.Values{"resource": {docs, billing}, "scope": {"docs:read billing:read"}}, billing + "," + docs, "billing:read docs:read", ""},
		{"unknown resource", url.Values{"resource": {"https://evil.example.com"}}, "", "", "invalid_target"},
		{"resource without its scope", url.Values{"scope": {"docs:read"}, "resource": {billing}}, "", "", "invalid_target"},
		{"malformed resource", url.Values{"resource": {"not a uri"}}, "", "", "invalid_target"},
		{"a scope of no API", url.Values{"scope": {"read:documents"}}, s.a.issuer(s.acme), "read:documents", ""},
	}
	for _, c := range cases {
		st, body, aud := token(c.form)
		if c.err != "" {
			if st != 400 || body["error"] != c.err {
				t.Errorf("%s: %d %v, want %s", c.name, st, body, c.err)
			}
			continue
		}
		if st != 200 || strings.Join(aud, ",") != c.aud || body["scope"] != c.scope {
			t.Errorf("%s: %d aud %v scope %v, want %s / %s", c.name, st, aud, body["scope"], c.aud, c.scope)
		}
	}

	// Introspection reports the audience; a token of only OpenID Connect scopes is for UserInfo.
	_, body, _ := token(url.Values{"scope": {"docs:read"}})
	if _, in := s.b.post(s.acme, "/oauth/introspect", url.Values{"token": {body["access_token"].(string)}}, cl.ID, cl.Secret); fmt.Sprint(in["aud"]) != "["+docs+"]" {
		t.Errorf("introspection aud: %v", in["aud"])
	}
	web := s.client(t, s.acme, "--name", "Web", "--type", "confidential", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid", "--scope", "profile", "--scope", "docs:read")
	userID := s.userJSON(t, s.acme, "aud@example.com", "Aud")
	ci := newCodeIssuer(t, s, time.Now)
	redeem := func(scope string, resources []string, extra url.Values) map[string]any {
		code := ci.issue(t, s.acme, authcode.Issued{ClientID: web.ID, RedirectURI: "https://app.example.com/cb", Scope: scope, UserID: userID, Resources: resources})
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example.com/cb"}}
		for k, v := range extra {
			form[k] = v
		}
		_, body := s.a.post(s.acme, "/oauth/token", form, web.ID, web.Secret)
		return body
	}
	audOf := func(body map[string]any) string {
		tok, _ := body["access_token"].(string)
		p, err := jwt.ParseInsecure([]byte(tok))
		if err != nil {
			return fmt.Sprint(body)
		}
		return strings.Join(p.Audience(), ",")
	}
	if got := audOf(redeem("openid profile", nil, nil)); got != s.a.issuer(s.acme)+"/oauth/userinfo" {
		t.Errorf("OIDC-only token aud: %s", got)
	}
	if got := audOf(redeem("openid docs:read", []string{docs}, nil)); got != docs {
		t.Errorf("code with a resource indicator: aud %s", got)
	}
	if body := redeem("openid docs:read", []string{docs}, url.Values{"resource": {billing}}); body["error"] != "invalid_target" {
		t.Errorf("token request widening the code's resources: %v", body)
	}
	// ID tokens keep aud = client id.
	if body := redeem("openid docs:read", nil, nil); body["id_token"] != nil {
		idt, _ := jwt.ParseInsecure([]byte(body["id_token"].(string)))
		if strings.Join(idt.Audience(), ",") != web.ID {
			t.Errorf("ID token aud: %v", idt.Audience())
		}
	}
}
