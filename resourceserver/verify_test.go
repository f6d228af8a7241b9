package resourceserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func TestVerifyAcceptsAValidToken(t *testing.T) {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	clk := newClock()
	v := iss.verifier(clk)
	c, err := v.Verify(t.Context(), iss.sign("k1", jwa.RS256, iss.claims(clk.Now())))
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now().Truncate(time.Second)
	if c.Issuer != iss.URL || c.Subject != "user-1" || c.ClientID != "client-1" || c.JTI != "jti-1" ||
		!slices.Equal(c.Scopes, []string{"docs:read", "openid"}) || !slices.Contains(c.Audience, testAudience) ||
		!c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(time.Hour)) || !c.HasScope("docs:read") || c.HasScope("docs") {
		t.Errorf("claims: %+v", c)
	}
	var raw map[string]any
	if err := json.Unmarshal(c.Raw, &raw); err != nil || raw["client_id"] != "client-1" {
		t.Errorf("raw claims: %s %v", c.Raw, err)
	}
}

// maker builds tokens for the rejection tests: an issuer with RSA keys k1 (RS256) and k512
// (declared RS512) and an EC key k-es, and a verifier on a fixed clock.
type maker struct {
	iss *testIssuer
	now time.Time
	v   *Verifier
}

func newMaker(t *testing.T) *maker {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	iss.publish("k512", 1, func(k jwk.Key) { k.Set(jwk.AlgorithmKey, jwa.RS512) }) //nolint:errcheck // valid
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := jwk.FromRaw(ec.Public())
	ecPub.Set(jwk.KeyIDKey, "k-es") //nolint:errcheck // valid
	iss.set(func(s *testIssuer) { s.published = append(s.published, ecPub) })
	clk := newClock()
	return &maker{iss: iss, now: clk.Now(), v: iss.verifier(clk)}
}

// with is a k1 token of valid claims edited.
func (m *maker) with(edit func(jsonMap)) string {
	c := m.iss.claims(m.now)
	edit(c)
	return m.iss.sign("k1", jwa.RS256, c)
}

// hdr is a k1 token of valid claims with an edited header.
func (m *maker) hdr(edit func(jws.Headers)) string {
	return m.iss.sign("k1", jwa.RS256, m.iss.claims(m.now), edit)
}

type rejection struct{ name, token, want string }

// expectRejections checks that each token is refused as invalid_token with its description.
func (m *maker) expectRejections(t *testing.T, cases []rejection) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.v.Verify(t.Context(), c.token)
			var e *Error
			if !errors.Is(err, ErrInvalidToken) || !errors.As(err, &e) || e.Description != c.want || e.Status != 401 {
				t.Errorf("got %s, want invalid_token %q", describe(err), c.want)
			}
		})
	}
}

// Forged, tampered and ill-formed tokens are refused, each with its own description.
func TestVerifyRejectsForgeries(t *testing.T) {
	m := newMaker(t)
	claims := m.iss.claims(m.now)
	parts := strings.Split(m.iss.sign("k1", jwa.RS256, claims), ".")
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(testKey(t, 0).Public()))})
	hs256 := must(jws.Sign(must(json.Marshal(claims)), jws.WithKey(jwa.HS256, pubPEM,
		jws.WithProtectedHeaders(headers(map[string]any{"kid": "k1", "typ": "at+jwt"})))))
	tampered := m.iss.claims(m.now)
	tampered["scope"] = "docs:read docs:write admin"
	other := strings.Split(m.with(func(c jsonMap) { c["jti"] = "x" }), ".")[2]
	m.expectRejections(t, []rejection{
		{"alg none", unsigned(map[string]any{"alg": "none", "typ": "at+jwt", "kid": "k1"}, claims), descAlgorithm},
		{"HS256 with the public key as secret", string(hs256), descAlgorithm},
		{"RS384 not allowed", m.iss.sign("k1", jwa.RS384, claims), descAlgorithm},
		{"PS256 not allowed", m.iss.sign("k1", jwa.PS256, claims), descAlgorithm},
		{"missing kid", m.hdr(func(h jws.Headers) { h.Remove(jws.KeyIDKey) }), descNoKid},
		{"unknown kid", m.iss.sign("nope", jwa.RS256, claims), descUnknownKey},
		{"tampered payload", parts[0] + "." + b64.EncodeToString(must(json.Marshal(tampered))) + "." + parts[2], descSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), descSignature},
		{"signature of another payload", parts[0] + "." + parts[1] + "." + other, descSignature},
		{"JWT of another key under our kid", forge(t, m.iss, m.now), descSignature},
		{"key declared for RS512", m.iss.sign("k512", jwa.RS256, claims), descKeyMismatch},
		{"EC key for an RSA signature", m.hdr(func(h jws.Headers) { h.Set(jws.KeyIDKey, "k-es") }), descKeyMismatch}, //nolint:errcheck // valid
		{"typ JWT (an ID token)", m.hdr(func(h jws.Headers) { h.Set(jws.TypeKey, "JWT") }), descType},                //nolint:errcheck // valid
		{"no typ", m.hdr(func(h jws.Headers) { h.Remove(jws.TypeKey) }), descType},
		{"crit", m.hdr(func(h jws.Headers) { h.Set(jws.CriticalKey, []string{"exp"}) }), descCrit}, //nolint:errcheck // valid
		{"three garbage parts", "a.b.c", descMalformed},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], descMalformed},
		{"header not JSON", b64.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2], descMalformed},
		{"opaque without introspection", "pat_abcdef", descOpaque},
		{"huge", strings.Repeat("a", maxTokenSize+1), descMalformed},
	})
}

// Genuine tokens whose claims do not fit this verifier are refused.
func TestVerifyRejectsBadClaims(t *testing.T) {
	m := newMaker(t)
	now := m.now
	m.expectRejections(t, []rejection{
		{"other issuer", m.with(func(c jsonMap) { c["iss"] = "http://evil.localhost:4000" }), descIssuer},
		{"other audience", m.with(func(c jsonMap) { c["aud"] = []string{"http://localhost:4200"} }), descAudience},
		{"audience as a string", m.with(func(c jsonMap) { c["aud"] = "http://localhost:4200" }), descAudience},
		{"expired beyond the leeway", m.with(func(c jsonMap) { c["exp"] = now.Add(-31 * time.Second).Unix() }), descExpired},
		{"not valid yet", m.with(func(c jsonMap) { c["nbf"] = now.Add(31 * time.Second).Unix() }), descNotYetValid},
		{"issued in the future", m.with(func(c jsonMap) { c["iat"] = now.Add(31 * time.Second).Unix() }), descNotYetValid},
		{"no exp", m.with(func(c jsonMap) { delete(c, "exp") }), descMissingClaim},
		{"no iat", m.with(func(c jsonMap) { delete(c, "iat") }), descMissingClaim},
		{"no jti", m.with(func(c jsonMap) { delete(c, "jti") }), descMissingClaim},
		{"no sub", m.with(func(c jsonMap) { delete(c, "sub") }), descMissingClaim},
		{"no client_id", m.with(func(c jsonMap) { delete(c, "client_id") }), descMissingClaim},
		{"exp not a number", m.with(func(c jsonMap) { c["exp"] = "tomorrow" }), descMalformed},
		{"exp absurd", m.with(func(c jsonMap) { c["exp"] = 1e300 }), descMalformed},
	})
	for name, tok := range map[string]string{
		"within the leeway": m.with(func(c jsonMap) {
			c["exp"] = now.Add(-29 * time.Second).Unix()
			c["nbf"] = now.Add(29 * time.Second).Unix()
		}),
		"audience as one string": m.with(func(c jsonMap) { c["aud"] = testAudience }),
		"typ with media type":    m.hdr(func(h jws.Headers) { h.Set(jws.TypeKey, "application/AT+JWT") }), //nolint:errcheck // valid
		"fractional times":       m.with(func(c jsonMap) { c["iat"] = float64(now.Unix()) + 0.5 }),
	} {
		if _, err := m.v.Verify(t.Context(), tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNewRefusesBadConfigs(t *testing.T) {
	for _, cfg := range []Config{
		{Audience: testAudience},
		{Issuer: "examples-dev.localhost:4000", Audience: testAudience},
		{Issuer: "http://examples-dev.localhost:4000"},
		{Issuer: "http://x", Audience: "a", Algorithms: []string{"none"}},
		{Issuer: "http://x", Audience: "a", Algorithms: []string{"HS256"}},
		{Issuer: "http://x", Audience: "a", Introspection: &Introspection{ClientID: "c"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
	if _, err := New(Config{Issuer: "http://x", Audience: "a", Algorithms: []string{"RS256", "ES256", "EdDSA"}}); err != nil {
		t.Error(err)
	}
}

func TestRevokedJTIIsRefusedUntilExpiry(t *testing.T) {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	clk := newClock()
	v := iss.verifier(clk)
	tok := iss.sign("k1", jwa.RS256, iss.claims(clk.Now()))
	v.denied.add("jti-1", clk.Now().Add(time.Hour+v.leeway), clk.Now())
	v.denied.add("gone", clk.Now().Add(-time.Second), clk.Now())
	if _, err := v.Verify(t.Context(), tok); err == nil || !strings.Contains(err.Error(), descRevoked) {
		t.Fatalf("revoked token: %s", describe(err))
	}
	v.denied.prune(clk.Now().Add(2 * time.Hour))
	if v.denied.size.Load() != 0 {
		t.Errorf("deny-list not pruned: %d", v.denied.size.Load())
	}
}

// unsigned builds an alg-none JWT.
func unsigned(hdr, claims map[string]any) string {
	return b64.EncodeToString(must(json.Marshal(hdr))) + "." + b64.EncodeToString(must(json.Marshal(claims))) + "."
}

// forge signs valid claims with a key the JWKS does not have, under kid k1.
func forge(t *testing.T, iss *testIssuer, now time.Time) string {
	t.Helper()
	signed, err := jws.Sign(must(json.Marshal(iss.claims(now))), jws.WithKey(jwa.RS256, testKey(t, 3),
		jws.WithProtectedHeaders(headers(map[string]any{"kid": "k1", "typ": "at+jwt"}))))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func headers(m map[string]any) jws.Headers {
	h := jws.NewHeaders()
	for k, v := range m {
		h.Set(k, v) //nolint:errcheck // test input
	}
	return h
}

// flip changes the first character of a base64url segment.
func flip(s string) string {
	raw := must(base64.RawURLEncoding.DecodeString(s))
	raw[0] ^= 0xff
	return base64.RawURLEncoding.EncodeToString(raw)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
