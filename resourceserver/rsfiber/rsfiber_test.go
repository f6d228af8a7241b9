package rsfiber_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/paylent/paylent/resourceserver"
	"github.com/paylent/paylent/resourceserver/rsfiber"
)

const audience = "http://localhost:4100"

// issuer serves discovery and a JWKS of one key, and signs tokens with it.
type issuer struct {
	url string
	key *rsa.PrivateKey
}

func newIssuer(t *testing.T) *issuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := jwk.FromRaw(key.Public())
	pub.Set(jwk.KeyIDKey, "k1") //nolint:errcheck // valid
	iss := &issuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss.url, "jwks_uri": iss.url + "/jwks"}) //nolint:errcheck // test
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []jwk.Key{pub}}) //nolint:errcheck // test
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss.url = srv.URL
	return iss
}

func (i *issuer) token(t *testing.T, scope string, exp time.Time) string {
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{"iss": i.url, "sub": "user-1", "aud": audience, "exp": exp.Unix(),
		"iat": now.Unix(), "jti": "j1", "scope": scope, "client_id": "c1"})
	h := jws.NewHeaders()
	h.Set(jws.KeyIDKey, "k1")    //nolint:errcheck // valid
	h.Set(jws.TypeKey, "at+jwt") //nolint:errcheck // valid
	signed, err := jws.Sign(payload, jws.WithKey(jwa.RS256, i.key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func TestRequireScope(t *testing.T) {
	iss := newIssuer(t)
	v, err := resourceserver.New(resourceserver.Config{Issuer: iss.url, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	app.Get("/documents", rsfiber.RequireScope(v, "docs:read"), func(c *fiber.Ctx) error {
		claims, ok := rsfiber.Claims(c)
		fromCtx, ok2 := resourceserver.ClaimsFromContext(c.UserContext())
		if !ok || !ok2 || claims != fromCtx {
			return c.SendStatus(500)
		}
		return c.SendString("hello " + claims.Subject)
	})
	realm := `Bearer realm="` + audience + `"`
	cases := []struct {
		name      string
		auth      []string
		status    int
		challenge string
		body      string
	}{
		{"no token", nil, 401, realm, ""},
		{"another scheme", []string{"Basic dXNlcjpwYXNz"}, 401, realm, ""},
		{"malformed header", []string{"Bearer a b"}, 400, realm + `, error="invalid_request", error_description="the Authorization header is not a bearer token"`,
			`{"error":"invalid_request","error_description":"the Authorization header is not a bearer token"}`},
		{"expired", []string{"Bearer " + iss.token(t, "docs:read", time.Now().Add(-time.Hour))}, 401,
			realm + `, error="invalid_token", error_description="the access token has expired"`,
			`{"error":"invalid_token","error_description":"the access token has expired"}`},
		{"missing scope", []string{"Bearer " + iss.token(t, "openid", time.Now().Add(time.Hour))}, 403,
			realm + `, error="insufficient_scope", error_description="the access token lacks a required scope", scope="docs:read"`,
			`{"error":"insufficient_scope","error_description":"the access token lacks a required scope","scope":"docs:read"}`},
		{"two headers", []string{"Bearer a", "Bearer b"}, 400, realm + `, error="invalid_request", error_description="the Authorization header is malformed"`,
			`{"error":"invalid_request","error_description":"the Authorization header is malformed"}`},
		{"valid", []string{"Bearer " + iss.token(t, "openid docs:read", time.Now().Add(time.Hour))}, 200, "", "hello user-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/documents", nil)
			for _, a := range c.auth {
				req.Header.Add("Authorization", a)
			}
			resp, err := app.Test(req, 5000)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || resp.Header.Get("WWW-Authenticate") != c.challenge || string(body) != c.body {
				t.Errorf("got %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
			if c.status != 200 && resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control: %q", resp.Header.Get("Cache-Control"))
			}
			if c.body != "" && c.status != 200 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type: %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

func Example() {
	verifier, err := resourceserver.New(resourceserver.Config{
		Issuer:   "http://examples-dev.localhost:4000",
		Audience: "http://localhost:4100",
	})
	if err != nil {
		log.Fatal(err)
	}
	app := fiber.New()
	app.Get("/documents", rsfiber.RequireScope(verifier, "docs:read"), func(c *fiber.Ctx) error {
		claims, _ := rsfiber.Claims(c)
		return c.JSON(fiber.Map{"owner": claims.Subject, "client": claims.ClientID})
	})
	log.Fatal(app.Listen("127.0.0.1:4100"))
}
