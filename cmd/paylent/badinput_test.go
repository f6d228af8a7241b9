package main_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Malformed, duplicated, oversized and forged requests get the precise RFC error, never a
// 500, and never an event.
func TestBadInputOnOAuthEndpoints(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	cl := s.client(t, s.acme, "--name", "Backend", "--type", "confidential", "--grant", "client_credentials", "--scope", "read:documents")
	other := s.client(t, s.other, "--name", "Other", "--type", "confidential", "--grant", "client_credentials")
	public := s.client(t, s.acme, "--name", "SPA", "--type", "public", "--grant", "authorization_code", "--redirect-uri", "http://localhost:3000/cb")
	_, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, cl.ID, cl.Secret)
	good, _ := body["access_token"].(string)
	_, body = s.a.post(s.other, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, other.ID, other.Secret)
	foreign, _ := body["access_token"].(string)
	before := eventCount(t, s)

	basic := func(id, sec string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
	}
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, path, ctype, body, auth string
		status                        int
		code                          string
	}{
		{"json body", "/oauth/token", "application/json", `{"grant_type":"client_credentials"}`, basic(cl.ID, cl.Secret), 400, "invalid_request"},
		{"no content type", "/oauth/token", "", "grant_type=client_credentials", basic(cl.ID, cl.Secret), 400, "invalid_request"},
		{"repeated grant_type", "/oauth/token", form, "grant_type=client_credentials&grant_type=client_credentials", basic(cl.ID, cl.Secret), 400, "invalid_request"},
		{"missing grant_type", "/oauth/token", form, "scope=read:documents", basic(cl.ID, cl.Secret), 400, "invalid_request"},
		{"unknown grant", "/oauth/token", form, "grant_type=urn:x:magic", basic(cl.ID, cl.Secret), 400, "unsupported_grant_type"},
		{"password grant", "/oauth/token", form, "grant_type=password&username=a&password=b", basic(cl.ID, cl.Secret), 400, "unsupported_grant_type"},
		{"unknown client", "/oauth/token", form, "grant_type=client_credentials", basic("nobody-at-all", "x"), 401, "invalid_client"},
		{"wrong secret (basic)", "/oauth/token", form, "grant_type=client_credentials", basic(cl.ID, "wrong"), 401, "invalid_client"},
		{"wrong secret (post)", "/oauth/token", form, "grant_type=client_credentials&client_id=" + cl.ID + "&client_secret=wrong", "", 401, "invalid_client"},
		{"no credentials", "/oauth/token", form, "grant_type=client_credentials", "", 401, "invalid_client"},
		{"two auth methods", "/oauth/token", form, "grant_type=client_credentials&client_secret=" + cl.Secret, basic(cl.ID, cl.Secret), 400, "invalid_request"},
		{"malformed basic", "/oauth/token", form, "grant_type=client_credentials", "Basic !!!not-base64", 401, "invalid_client"},
		{"bearer on token endpoint", "/oauth/token", form, "grant_type=client_credentials", "Bearer " + good, 401, "invalid_client"},
		{"scope not allowed", "/oauth/token", form, "grant_type=client_credentials&scope=write:documents", basic(cl.ID, cl.Secret), 400, "invalid_scope"},
		{"scope unknown", "/oauth/token", form, "grant_type=client_credentials&scope=launch:missiles", basic(cl.ID, cl.Secret), 400, "invalid_scope"},
		{"scope malformed", "/oauth/token", form, "grant_type=client_credentials&scope=read:documents++x", basic(cl.ID, cl.Secret), 400, "invalid_scope"},
		{"openid for a client", "/oauth/token", form, "grant_type=client_credentials&scope=openid", basic(cl.ID, cl.Secret), 400, "invalid_scope"},
		{"public client cc", "/oauth/token", form, "grant_type=client_credentials&client_id=" + public.ID, "", 400, "unauthorized_client"},
		{"oversized body", "/oauth/token", form, "grant_type=client_credentials&x=" + strings.Repeat("a", 20000), basic(cl.ID, cl.Secret), 400, "invalid_request"},
		{"bad percent-encoding", "/oauth/token", form, "grant_type=%zz", basic(cl.ID, cl.Secret), 400, "invalid_request"},
		{"introspect without token", "/oauth/introspect", form, "", basic(cl.ID, cl.Secret), 400, "invalid_request"},
		{"introspect by a public client", "/oauth/introspect", form, "token=" + good + "&client_id=" + public.ID, "", 401, "invalid_client"},
		{"revoke without token", "/oauth/revoke", form, "", basic(cl.ID, cl.Secret), 400, "invalid_request"},
	}
	for _, c := range cases {
		code, hdr, raw := s.a.postRawAuth(s.acme, c.path, c.ctype, c.body, c.auth)
		var got map[string]any
		if err := json.Unmarshal(raw, &got); err != nil || code != c.status || got["error"] != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, raw, c.status, c.code)
			continue
		}
		if hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", c.name, hdr.Get("Cache-Control"))
		}
		if c.status == 401 && strings.HasPrefix(c.auth, "Basic") && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 after Basic without WWW-Authenticate", c.name)
		}
	}
	if code, hdr, _ := s.a.getRaw(s.acme, "/oauth/token"); code != 405 || hdr.Get("Allow") != "POST" {
		t.Errorf("GET /oauth/token: %d %v", code, hdr)
	}

	// Forged and foreign JWTs introspect as inactive, and nothing else.
	for name, tok := range forgeries(t, s, good, foreign) {
		code, body := s.a.post(s.acme, "/oauth/introspect", url.Values{"token": {tok}}, cl.ID, cl.Secret)
		if code != 200 || body["active"] != false || len(body) != 1 {
			t.Errorf("forged token (%s): %d %v", name, code, body)
		}
	}
	if after := eventCount(t, s); after != before {
		t.Errorf("bad input wrote %d events", after-before)
	}
}

// forgeries derives invalid tokens from a good one.
func forgeries(t *testing.T, s *stack, good, foreign string) map[string]string {
	t.Helper()
	parts := strings.Split(good, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var h map[string]any
	json.Unmarshal(hdr, &h) //nolint:errcheck // our own token
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }

	none := map[string]any{"alg": "none", "typ": "at+jwt", "kid": h["kid"]}
	tampered := strings.Replace(string(payload), `"scope":"read:documents"`, `"scope":"admin:write"`, 1)

	// HS256 "signed" with the environment's public key as the HMAC secret.
	set, err := jwk.Fetch(t.Context(), s.a.issuer(s.acme)+"/.well-known/jwks.json", jwk.WithHTTPClient(loopback))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := set.LookupKeyID(h["kid"].(string))
	var raw rsa.PublicKey
	pub.Raw(&raw) //nolint:errcheck // an RSA key from our JWKS
	der, _ := x509.MarshalPKIXPublicKey(&raw)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hsHdr := jws.NewHeaders()
	hsHdr.Set(jws.KeyIDKey, h["kid"]) //nolint:errcheck
	hsHdr.Set(jws.TypeKey, "at+jwt")  //nolint:errcheck
	hs, err := jws.Sign(payload, jws.WithKey(jwa.HS256, pemKey, jws.WithProtectedHeaders(hsHdr)))
	if err != nil {
		t.Fatal(err)
	}
	// Signed with a key Paylent never saw, under an unknown kid and under the real kid.
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	sign := func(kid string) string {
		hh := jws.NewHeaders()
		hh.Set(jws.KeyIDKey, kid)     //nolint:errcheck
		hh.Set(jws.TypeKey, "at+jwt") //nolint:errcheck
		out, err := jws.Sign(payload, jws.WithKey(jwa.RS256, stranger, jws.WithProtectedHeaders(hh)))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	return map[string]string{
		"alg none":              enc(none) + "." + parts[1] + ".",
		"tampered payload":      parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2],
		"HS256 with public key": string(hs),
		"unknown kid":           sign("no-such-kid"),
		"stranger's key":        sign(h["kid"].(string)),
		"other environment":     foreign,
		"garbage":               "not.a.jwt",
		"empty-ish":             "...",
	}
}

func eventCount(t *testing.T, s *stack) int {
	t.Helper()
	return strings.Count(s.run(t, "events", "--env", s.acme), "\n")
}
