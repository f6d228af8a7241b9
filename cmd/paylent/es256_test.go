package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/resourceserver"
	"golang.org/x/oauth2"
)

// An environment created with --signing-alg ES256 publishes EC P-256 keys and names ES256 in
// discovery; go-oidc verifies its ID tokens and resourceserver its access tokens, before and
// after a rotation (which keeps ES256). The test's RS256 environment beside it is unchanged.
func TestES256Environment(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	env, account, api := fmt.Sprintf("es256-shop-%d", s.seq), fmt.Sprintf("es256shop%d", s.seq), "http://localhost:4290"
	var created map[string]any
	if err := json.Unmarshal([]byte(s.run(t, "env", "create", "--account", account, "--slug", env, "--signing-alg", "ES256", "--json")), &created); err != nil ||
		created["signing_alg"] != "ES256" || created["environment"] != env {
		t.Fatalf("env create --json: %v %v", created, err)
	}
	if code, _, errOut := cli(t, s.cliEnv, "env", "create", "--account", account, "--slug", env+"-hs", "--signing-alg", "HS256"); code == 0 {
		t.Errorf("an HS256 environment was created: %s", errOut)
	}
	if code, out, _ := cli(t, s.cliEnv, "__complete", "env", "create", "--signing-alg", ""); code != 0 || !strings.HasPrefix(out, "RS256\nES256\n") {
		t.Errorf("completion of --signing-alg: %d %q", code, out)
	}
	esKeys(t, s, env, 2) // the primary from creation, the next from the key manager
	_, disc := s.a.get(s.a.host(env), "/.well-known/openid-configuration")
	for _, member := range []string{"id_token_signing_alg_values_supported", "access_token_signing_alg_values_supported"} {
		if algs, _ := disc[member].([]any); len(algs) != 1 || algs[0] != "ES256" {
			t.Errorf("discovery %s: %v, want [ES256]", member, disc[member])
		}
	}
	if _, rsDisc := s.a.get(s.a.host(s.acme), "/.well-known/openid-configuration"); !slices.Equal(rsDisc["id_token_signing_alg_values_supported"].([]any), []any{"RS256"}) {
		t.Errorf("RS256 environment's discovery: %v", rsDisc["id_token_signing_alg_values_supported"])
	}

	s.run(t, "apis", "create", "--env", env, "--identifier", api, "--name", "Orders API")
	s.run(t, "scopes", "create", "--env", env, "--api", api, "--name", "orders:read", "--description", "Read orders")
	spa := s.client(t, env, "--name", "Shop SPA", "--type", "public", "--grant", "authorization_code",
		"--redirect-uri", "http://localhost:3000/callback", "--scope", "openid", "--scope", "orders:read")
	backend := s.client(t, env, "--name", "Shop backend", "--type", "confidential", "--grant", "client_credentials", "--scope", "orders:read")
	userID := s.userJSON(t, env, "es@example.com", "Elliptic")
	ci := newCodeIssuer(t, s, time.Now)
	ctx := oidc.ClientContext(context.WithValue(t.Context(), oauth2.HTTPClient, loopback), loopback)
	verifier, err := resourceserver.New(resourceserver.Config{Issuer: s.a.issuer(env), Audience: api, HTTPClient: loopback})
	if err != nil {
		t.Fatal(err)
	}

	for round := range 2 {
		provider, err := oidc.NewProvider(ctx, s.a.issuer(env))
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		pkce := oauth2.GenerateVerifier()
		code := ci.issue(t, env, authcode.Issued{ClientID: spa.ID, RedirectURI: "http://localhost:3000/callback", RedirectGiven: true,
			Scope: "openid orders:read", UserID: userID, Nonce: "n-es256", Challenge: oauth2.S256ChallengeFromVerifier(pkce)})
		conf := oauth2.Config{ClientID: spa.ID, Endpoint: provider.Endpoint(), RedirectURL: "http://localhost:3000/callback",
			Scopes: []string{"openid", "orders:read"}}
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("round %d: code exchange: %v", round, err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: spa.ID}).Verify(ctx, raw)
		if err != nil || idt.Subject != userID {
			t.Fatalf("round %d: ID token: %v", round, err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("round %d: at_hash: %v", round, err)
		}
		_, body := s.a.post(env, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, backend.ID, backend.Secret)
		machine, _ := body["access_token"].(string)
		for name, at := range map[string]string{"code flow": tok.AccessToken, "client credentials": machine} {
			wantAlg(t, at, "ES256")
			c, err := verifier.Verify(t.Context(), at)
			if err != nil || !c.HasScope("orders:read") {
				t.Errorf("round %d: resourceserver, %s token: %+v %v", round, name, c, err)
			}
		}
		wantAlg(t, raw, "ES256")
		if round == 0 {
			s.run(t, "keys", "rotate", "--env", env)
			esKeys(t, s, env, 3) // new primary, new next, the retired one
			var listed struct{ Keys []struct{ Alg, Role string } }
			if err := json.Unmarshal([]byte(s.run(t, "keys", "list", "--env", env, "--json")), &listed); err != nil || len(listed.Keys) < 3 {
				t.Fatalf("keys list: %+v %v", listed, err)
			}
			for _, k := range listed.Keys {
				if k.Alg != "ES256" {
					t.Errorf("keys list: a %s key of alg %q", k.Role, k.Alg)
				}
			}
		}
	}
}

// esKeys waits until env's JWKS has at least n keys and checks that every one is an ES256
// P-256 signature key.
func esKeys(t *testing.T, s *stack, env string, n int) {
	t.Helper()
	var keys []any
	eventually(t, 30*time.Second, env+" has its keys", func() bool {
		code, body := s.a.get(s.a.host(env), "/.well-known/jwks.json")
		keys, _ = body["keys"].([]any)
		return code == http.StatusOK && len(keys) >= n
	})
	for _, k := range keys {
		m, _ := k.(map[string]any)
		if m["kty"] != "EC" || m["crv"] != "P-256" || m["alg"] != "ES256" || m["use"] != "sig" || m["kid"] == "" || m["x"] == nil || m["y"] == nil || m["d"] != nil {
			t.Errorf("JWKS key %v: want a public EC P-256 ES256 signature key", m)
		}
	}
}

// wantAlg checks the JOSE header's alg of a compact JWS.
func wantAlg(t *testing.T, token, alg string) {
	t.Helper()
	msg, err := jws.Parse([]byte(token))
	if err != nil || len(msg.Signatures()) != 1 || msg.Signatures()[0].ProtectedHeaders().Algorithm().String() != alg {
		t.Errorf("token %.20s…: %v, want alg %s", token, err, alg)
	}
}
