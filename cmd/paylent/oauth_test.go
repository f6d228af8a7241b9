package main_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/nats-io/nats.go"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// A third-party client library obtains tokens by client credentials; the JWT verifies
// against the published JWKS with the claims RFC 9068 asks for; a revocation on one instance
// is seen by the other at once and by a NATS subscriber.
func TestClientCredentialsEndToEnd(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	backend := s.client(t, s.acme, "--name", "Backend", "--type", "confidential",
		"--grant", "client_credentials", "--scope", "read:documents", "--scope", "write:documents")

	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, loopback)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: backend.ID, ClientSecret: backend.Secret, AuthStyle: style,
			TokenURL: s.a.issuer(s.acme) + "/oauth/token", Scopes: []string{"read:documents"}}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client credentials (auth style %d): %v", style, err)
		}
		if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Expiry.Before(time.Now().Add(59*time.Minute)) {
			t.Errorf("token %+v", tok)
		}
		checkAccessJWT(t, s, tok.AccessToken, backend.ID, "read:documents")
	}

	// Revocation: on A; B answers inactive at once; a NATS subscriber gets token.revoked.
	nc, err := nats.Connect(s.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	revoked, err := nc.SubscribeSync("paylent.events." + s.acme + ".token.revoked")
	if err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: backend.ID, ClientSecret: backend.Secret, TokenURL: s.b.issuer(s.acme) + "/oauth/token"}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := s.a.post(s.acme, "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, backend.ID, backend.Secret); code != 200 || body["active"] != true || body["scope"] != "read:documents write:documents" {
		t.Fatalf("introspection on the other instance: %d %v", code, body)
	}
	if code, _ := s.a.post(s.acme, "/oauth/revoke", url.Values{"token": {tok.AccessToken}}, backend.ID, backend.Secret); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	for _, inst := range []*instance{s.a, s.b} {
		code, body := inst.post(s.acme, "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, backend.ID, backend.Secret)
		if code != 200 || body["active"] != false || len(body) != 1 {
			t.Errorf("introspection after revocation: %d %v", code, body)
		}
	}
	msg, err := revoked.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no token.revoked on NATS: %v", err)
	}
	var env struct {
		Type string `json:"type"`
		Data struct {
			JTI       string    `json:"jti"`
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"data"`
	}
	parsed, _ := jwt.ParseInsecure([]byte(tok.AccessToken))
	if err := json.Unmarshal(msg.Data, &env); err != nil || env.Type != "token.revoked" || env.Data.JTI != parsed.JwtID() || !env.Data.ExpiresAt.Equal(parsed.Expiration()) {
		t.Errorf("revocation event %s: %v", msg.Data, err)
	}
}

// checkAccessJWT verifies an access token against the environment's JWKS like a resource
// server would, and checks its claims.
func checkAccessJWT(t *testing.T, s *stack, token, clientID, scope string) {
	t.Helper()
	issuer := s.a.issuer(s.acme)
	set, err := jwk.Fetch(context.Background(), issuer+"/.well-known/jwks.json", jwk.WithHTTPClient(loopback))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse([]byte(token), jwt.WithKeySet(set), jwt.WithIssuer(issuer), jwt.WithValidate(true))
	if err != nil {
		t.Fatalf("access token does not verify: %v", err)
	}
	msg, _ := jws.Parse([]byte(token))
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if hdr.Type() != "at+jwt" || hdr.KeyID() == "" || hdr.Algorithm().String() != "RS256" {
		t.Errorf("header typ=%q kid=%q alg=%q", hdr.Type(), hdr.KeyID(), hdr.Algorithm())
	}
	claims := parsed.PrivateClaims()
	gotScope, _ := claims["scope"].(string)
	if parsed.Subject() != clientID || claims["client_id"] != clientID || gotScope != scope ||
		parsed.JwtID() == "" || parsed.IssuedAt().IsZero() || parsed.NotBefore().IsZero() || len(parsed.Audience()) == 0 {
		t.Errorf("claims %+v %v", parsed, claims)
	}
}

func TestOpaqueTokensAndIsolation(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	opaque := s.client(t, s.acme, "--name", "Opaque", "--type", "confidential", "--grant", "client_credentials",
		"--scope", "read:documents", "--token-format", "opaque")
	other := s.client(t, s.other, "--name", "Other", "--type", "confidential", "--grant", "client_credentials")

	code, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, opaque.ID, opaque.Secret)
	tok, _ := body["access_token"].(string)
	if code != 200 || strings.Count(tok, ".") != 0 || len(tok) < 40 {
		t.Fatalf("opaque token: %d %v", code, body)
	}
	// Read-your-writes on the issuing instance; read-through or catch-up on the other.
	for _, inst := range []*instance{s.a, s.b} {
		code, body := inst.post(s.acme, "/oauth/introspect", url.Values{"token": {tok}}, opaque.ID, opaque.Secret)
		if code != 200 || body["active"] != true || body["client_id"] != opaque.ID || body["sub"] != opaque.ID {
			t.Errorf("opaque introspection: %d %v", code, body)
		}
	}
	// Nothing crosses environments.
	if code, body := s.a.post(s.other, "/oauth/introspect", url.Values{"token": {tok}}, other.ID, other.Secret); code != 200 || body["active"] != false {
		t.Errorf("acme token introspected in "+s.other+": %d %v", code, body)
	}
	if code, body := s.a.post(s.other, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, opaque.ID, opaque.Secret); code != 401 || body["error"] != "invalid_client" {
		t.Errorf("acme client at "+s.other+": %d %v", code, body)
	}
	if code, _ := s.a.post(s.other, "/oauth/revoke", url.Values{"token": {tok}}, other.ID, other.Secret); code != 200 {
		t.Errorf("revoking a foreign token must answer 200, got %d", code)
	}
	if _, body := s.a.post(s.acme, "/oauth/introspect", url.Values{"token": {tok}}, opaque.ID, opaque.Secret); body["active"] != true {
		t.Error("another environment's revocation revoked the token")
	}
	// Only the owner may revoke.
	backend := s.client(t, s.acme, "--name", "Backend", "--type", "confidential", "--grant", "client_credentials")
	if code, body := s.a.post(s.acme, "/oauth/revoke", url.Values{"token": {tok}}, backend.ID, backend.Secret); code != 400 || body["error"] != "unauthorized_client" {
		t.Errorf("revocation by another client: %d %v", code, body)
	}
	if code, _ := s.b.post(s.acme, "/oauth/revoke", url.Values{"token": {tok}, "token_type_hint": {"access_token"}}, opaque.ID, opaque.Secret); code != 200 {
		t.Errorf("revoke: %d", code)
	}
	if _, body := s.a.post(s.acme, "/oauth/introspect", url.Values{"token": {tok}}, opaque.ID, opaque.Secret); body["active"] != false {
		t.Error("revoked opaque token still active on the other instance")
	}
}

func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	backend := s.client(t, s.acme, "--name", "Backend", "--type", "confidential", "--grant", "client_credentials")
	_, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, backend.ID, backend.Secret)
	old, _ := body["access_token"].(string)
	oldKid := kidOf(t, old)
	s.run(t, "keys", "rotate", "--env", s.acme)
	eventually(t, 5*time.Second, "new tokens signed with the new key", func() bool {
		_, body := s.b.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, backend.ID, backend.Secret)
		tok, _ := body["access_token"].(string)
		return tok != "" && kidOf(t, tok) != oldKid
	})
	code, jwks := s.a.get(s.a.host(s.acme), "/.well-known/jwks.json")
	if keys, _ := jwks["keys"].([]any); code != 200 || len(keys) != 3 {
		t.Errorf("JWKS after rotation must hold the primary, the next and the retired key: %v", jwks)
	}
	checkAccessJWT(t, s, old, backend.ID, "")
	if _, body := s.b.post(s.acme, "/oauth/introspect", url.Values{"token": {old}}, backend.ID, backend.Secret); body["active"] != true {
		t.Errorf("token of the retired key: %v", body)
	}
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		t.Fatalf("not a JWS: %v", err)
	}
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}
