package resourceserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

const testAudience = "http://localhost:4100"

// Key generation is slow: a few keys serve every test of the binary.
var (
	keysOnce sync.Once
	keyPool  []*rsa.PrivateKey
)

func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keyPool = append(keyPool, k)
		}
	})
	return keyPool[i]
}

// testIssuer is an in-process issuer: discovery, JWKS and introspection on httptest, and
// a signer for tokens.
type testIssuer struct {
	t   testing.TB
	srv *httptest.Server
	URL string

	mu              sync.Mutex
	published       []jwk.Key          // the JWKS
	private         map[string]any     // kid → signing key
	cacheControl    string             // of the JWKS response
	jwksStatus      int                // answered instead of the JWKS when not 0
	jwksDelay       time.Duration      // before answering the JWKS
	discoveryIssuer string             // overrides the issuer in discovery
	active          map[string]jsonMap // introspection: token → answer
	introDelay      time.Duration

	discoveries, jwksFetches, introspections atomic.Int64
}

type jsonMap = map[string]any

func newIssuer(t testing.TB) *testIssuer {
	t.Helper()
	s := &testIssuer{t: t, private: map[string]any{}, active: map[string]jsonMap{}, cacheControl: "public, max-age=300"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	mux.HandleFunc("GET /.well-known/paylent-event-keys.json", func(w http.ResponseWriter, _ *http.Request) {
		pub := testEventKey.Public().(ed25519.PublicKey)
		json.NewEncoder(w).Encode(jsonMap{"keys": []jsonMap{{"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", //nolint:errcheck // test server
			"kid": testEventKID, "x": base64.RawURLEncoding.EncodeToString(pub)}}})
	})
	mux.HandleFunc("POST /oauth/introspect", s.introspect)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

func (s *testIssuer) discovery(w http.ResponseWriter, _ *http.Request) {
	s.discoveries.Add(1)
	s.mu.Lock()
	iss := s.URL
	if s.discoveryIssuer != "" {
		iss = s.discoveryIssuer
	}
	s.mu.Unlock()
	json.NewEncoder(w).Encode(jsonMap{"issuer": iss, "jwks_uri": s.URL + "/.well-known/jwks.json", //nolint:errcheck // test server
		"introspection_endpoint": s.URL + "/oauth/introspect", "paylent_event_signing_jwks_uri": s.URL + "/.well-known/paylent-event-keys.json"})
}

func (s *testIssuer) jwks(w http.ResponseWriter, _ *http.Request) {
	s.jwksFetches.Add(1)
	s.mu.Lock()
	doc, _ := json.Marshal(jsonMap{"keys": s.published})
	cc, status, delay := s.cacheControl, s.jwksStatus, s.jwksDelay
	s.mu.Unlock()
	time.Sleep(delay)
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Write(doc) //nolint:errcheck // test server
}

func (s *testIssuer) introspect(w http.ResponseWriter, r *http.Request) {
	s.introspections.Add(1)
	s.mu.Lock()
	delay := s.introDelay
	s.mu.Unlock()
	time.Sleep(delay)
	if id, secret, ok := r.BasicAuth(); !ok || id != "rs%3Aapi" || secret != "s3cr%3Dt+x" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	answer, ok := s.active[r.PostFormValue("token")]
	s.mu.Unlock()
	if !ok {
		answer = jsonMap{"active": false}
	}
	json.NewEncoder(w).Encode(answer) //nolint:errcheck // test server
}

// publish adds key i of the pool to the JWKS under kid (and signs with it).
func (s *testIssuer) publish(kid string, i int, props ...func(jwk.Key)) {
	s.t.Helper()
	priv := testKey(s.t, i)
	pub, err := jwk.FromRaw(priv.Public())
	if err != nil {
		s.t.Fatal(err)
	}
	pub.Set(jwk.KeyIDKey, kid)      //nolint:errcheck // valid
	pub.Set(jwk.KeyUsageKey, "sig") //nolint:errcheck // valid
	for _, p := range props {
		p(pub)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = append(s.published, pub)
	s.private[kid] = priv
}

// withdraw removes kid from the JWKS.
func (s *testIssuer) withdraw(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.published {
		if k.KeyID() == kid {
			s.published = append(s.published[:i], s.published[i+1:]...)
			return
		}
	}
}

func (s *testIssuer) set(f func(s *testIssuer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// claims are valid claims at now, for testAudience.
func (s *testIssuer) claims(now time.Time) jsonMap {
	return jsonMap{"iss": s.URL, "sub": "user-1", "aud": []string{testAudience, "https://other.example"},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "jti": "jti-1",
		"scope": "docs:read openid", "client_id": "client-1"}
}

// sign signs claims with kid's key (or key when given) as an at+jwt; hdr edits the header.
func (s *testIssuer) sign(kid string, alg jwa.SignatureAlgorithm, claims jsonMap, hdr ...func(jws.Headers)) string {
	s.t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		s.t.Fatal(err)
	}
	h := jws.NewHeaders()
	if kid != "" {
		h.Set(jws.KeyIDKey, kid) //nolint:errcheck // valid
	}
	h.Set(jws.TypeKey, "at+jwt") //nolint:errcheck // valid
	for _, f := range hdr {
		f(h)
	}
	s.mu.Lock()
	key := s.private[kid]
	s.mu.Unlock()
	if key == nil {
		key = testKey(s.t, 3) // a key the JWKS never shows
	}
	signed, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		s.t.Fatal(err)
	}
	return string(signed)
}

// clock is a settable time for the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// verifier is a verifier of the issuer for testAudience on clk; edit adjusts the config.
func (s *testIssuer) verifier(clk *clock, edit ...func(*Config)) *Verifier {
	s.t.Helper()
	cfg := Config{Issuer: s.URL, Audience: testAudience}
	for _, e := range edit {
		e(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	if clk != nil {
		v.now = clk.Now
	}
	return v
}

// eventually polls cond for up to within.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}

// describe renders an error for test messages.
func describe(err error) string {
	if err == nil {
		return "accepted"
	}
	return fmt.Sprintf("%q", err.Error())
}
