package app_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/tenants"
)

// signedIn is an environment with a backend and a web app, and tokens of both: an access
// token of the client credentials grant, and an access and ID token of the code flow.
type signedIn struct {
	t                       tenants.Tenant
	svcAccess, access, idTk string
}

func issueTokens(t *testing.T, h *apptest.Harness, slug string) signedIn {
	t.Helper()
	ten, err := tenants.NewDirectory(h.Catalog, "localhost:4000", "http").Get(slug)
	if err != nil {
		t.Fatal(err)
	}
	register := func(typ client.Type, s client.Settings) app.TokenRequest {
		reg, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: slug, Type: typ, Settings: s, Grantor: client.OperatorGrantor}, apptest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		cl, _ := h.Catalog.Client(slug, reg.ClientID)
		return app.TokenRequest{Tenant: ten, Client: cl, Actor: domain.Actor{Kind: domain.ActorClient, ID: cl.ID}}
	}
	svc, web := register(client.Confidential, service()), register(client.Confidential, webApp())
	cc, oe := h.App.ClientCredentials(t.Context(), svc)
	if oe != nil {
		t.Fatal(oe)
	}
	pw, err := user.NewPassword("a long enough passphrase", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: slug, Email: "ada@example.com", Name: "Ada", Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.App.StartSession(t.Context(), app.StartSession{Environment: slug, UserID: u.UserID, TTL: time.Hour, Browser: browserOfTest})
	if err != nil {
		t.Fatal(err)
	}
	code, err := h.App.IssueCode(t.Context(), app.IssueCode{Environment: slug, ClientID: web.Client.ID, RedirectURI: "https://app.example/cb",
		RedirectGiven: true, Scope: "openid", Nonce: "n-1", Session: s.Session, Browser: browserOfTest})
	if err != nil {
		t.Fatal(err)
	}
	resp, oe := h.App.AuthorizationCode(t.Context(), app.CodeRequest{TokenRequest: web, Code: code, RedirectURI: "https://app.example/cb"})
	if oe != nil {
		t.Fatal(oe)
	}
	return signedIn{t: ten, svcAccess: cc.AccessToken, access: resp.AccessToken, idTk: resp.IDToken}
}

// verifyWithJWKS checks that token verifies with the environment's published JWKS alone,
// under the algorithm alg, and returns its key's kty.
func verifyWithJWKS(t *testing.T, h *apptest.Harness, slug, token, alg string) string {
	t.Helper()
	doc, err := h.App.JWKS(slug, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwk.Parse(doc)
	if err != nil {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		t.Fatal(err)
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if hdr.Algorithm().String() != alg {
		t.Fatalf("token signed with %s, want %s", hdr.Algorithm(), alg)
	}
	if _, err := jwt.Parse([]byte(token), jwt.WithKeySet(set, jws.WithRequireKid(true)), jwt.WithValidate(true)); err != nil {
		t.Fatalf("%s token does not verify with the JWKS %s: %v", alg, doc, err)
	}
	key, _ := set.LookupKeyID(hdr.KeyID())
	if key.Algorithm().String() != alg {
		t.Errorf("JWKS key %s has alg %s, want %s", key.KeyID(), key.Algorithm(), alg)
	}
	return key.KeyType().String()
}

// An ES256 environment signs its access and ID tokens with P-256 keys that its JWKS
// publishes as EC keys; an RS256 environment beside it is unchanged; each environment's
// tokens verify only with its own keys.
func TestES256Environment(t *testing.T) {
	h := apptest.New(t)
	created, err := h.App.CreateEnvironment(t.Context(), app.CreateEnvironment{Account: "acme", Slug: "es-test", SigningAlg: "ES256"}, apptest.Operator)
	if err != nil || created.SigningAlg != "ES256" {
		t.Fatalf("create: %+v, %v", created, err)
	}
	h.Environment(t, "acme", "rs-test")
	var es signedIn
	for _, tc := range []struct{ slug, alg, kty string }{{"es-test", "ES256", "EC"}, {"rs-test", "RS256", "RSA"}} {
		got := issueTokens(t, h, tc.slug)
		if tc.slug == "es-test" {
			es = got
		}
		if got.t.SigningAlg != tc.alg {
			t.Errorf("tenant %s: signing alg %q", tc.slug, got.t.SigningAlg)
		}
		for _, tok := range []string{got.svcAccess, got.access, got.idTk} {
			if kty := verifyWithJWKS(t, h, tc.slug, tok, tc.alg); kty != tc.kty {
				t.Errorf("%s: key type %s, want %s", tc.slug, kty, tc.kty)
			}
		}
		if found, err := h.App.LookupToken(t.Context(), got.t, got.svcAccess); err != nil || !found.Active(time.Now()) {
			t.Errorf("%s: own access token not active: %+v, %v", tc.slug, found, err)
		}
	}
	// A token of one environment is unknown in the other, whatever its algorithm.
	rs, _ := tenants.NewDirectory(h.Catalog, "localhost:4000", "http").Get("rs-test")
	if found, err := h.App.LookupToken(t.Context(), rs, es.svcAccess); err == nil && found.Active(time.Now()) {
		t.Error("an ES256 token of es-test is active in rs-test")
	}
}

// Rotation and the key manager's next key keep the environment's algorithm; an unknown
// algorithm is refused before any key is made.
func TestES256Rotation(t *testing.T) {
	h := apptest.New(t)
	if _, err := h.App.CreateEnvironment(t.Context(), app.CreateEnvironment{Account: "acme", Slug: "es-test", SigningAlg: "ES256"}, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := h.App.RotateKeys(t.Context(), app.RotateKeys{Environment: "es-test"}, apptest.Operator); err != nil {
			t.Fatal(err)
		}
	}
	set, err := jwk.Parse(mustJWKS(t, h, "es-test"))
	if err != nil || set.Len() != 4 {
		t.Fatalf("JWKS after two rotations: %d keys, %v; want primary, next and two retired", set.Len(), err)
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if k.KeyType().String() != "EC" || k.Algorithm().String() != "ES256" {
			t.Errorf("key %s: kty %s alg %s", k.KeyID(), k.KeyType(), k.Algorithm())
		}
	}
	verifyWithJWKS(t, h, "es-test", issueTokens(t, h, "es-test").svcAccess, "ES256")
	_, err = h.App.CreateEnvironment(t.Context(), app.CreateEnvironment{Account: "acme", Slug: "hs-test", SigningAlg: "HS256"}, apptest.Operator)
	if !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("HS256: %v, want invalid", err)
	}
}

func mustJWKS(t *testing.T, h *apptest.Harness, slug string) []byte {
	t.Helper()
	doc, err := h.App.JWKS(slug, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
