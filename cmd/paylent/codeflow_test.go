package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
	"golang.org/x/oauth2"
)

// codeIssuer issues authorization codes straight into the event log, as the authorization
// endpoint (the browser flows) will after login and consent.
type codeIssuer struct {
	loop *eventstore.Loop
}

func newCodeIssuer(t *testing.T, s *stack, clock func() time.Time) *codeIssuer {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	t.Cleanup(store.Close)
	return &codeIssuer{loop: eventstore.NewLoop(store, eventtypes.Registry(), clock)}
}

func (ci *codeIssuer) issue(t *testing.T, env string, c authcode.Issued) string {
	t.Helper()
	code := secret.Token()
	c.CodeHash = secret.Hash(code)
	if c.AuthTime.IsZero() {
		c.AuthTime = time.Now().Add(-time.Minute)
	}
	if c.SessionID == "" {
		c.SessionID = "session-test"
	}
	if _, err := ci.loop.Execute(t.Context(), authcode.Issue{Environment: env, Code: c}, domain.Actor{Kind: domain.ActorUser, ID: c.UserID}); err != nil {
		t.Fatal(err)
	}
	return code
}

// A strict client library (x/oauth2 with a PKCE verifier, go-oidc verifying the ID token
// against discovery and JWKS) redeems a code, refreshes with rotation, and calls userinfo.
func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	spa := s.client(t, s.acme, "--name", "Docs SPA", "--type", "public", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", "http://localhost:3000/callback", "--scope", "openid", "--scope", "profile",
		"--scope", "email", "--scope", "read:documents")
	rs := s.client(t, s.acme, "--name", "Resource server", "--type", "confidential", "--grant", "client_credentials")
	userID := s.userJSON(t, s.acme, "Ada@Example.com", "Ada Lovelace")
	ci := newCodeIssuer(t, s, time.Now)

	verifier := oauth2.GenerateVerifier()
	code := ci.issue(t, s.acme, authcode.Issued{ClientID: spa.ID, RedirectURI: "http://localhost:3000/callback", RedirectGiven: true,
		Scope: "openid profile email read:documents", UserID: userID, Nonce: "n-0S6_WzA2Mj", Challenge: oauth2.S256ChallengeFromVerifier(verifier)})

	issuer := s.a.issuer(s.acme)
	ctx := oidc.ClientContext(context.WithValue(t.Context(), oauth2.HTTPClient, loopback), loopback)
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: spa.ID, Endpoint: provider.Endpoint(), RedirectURL: "http://localhost:3000/callback",
		Scopes: []string{"openid", "profile", "email", "read:documents"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: spa.ID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Nonce, Name, Email string
		EmailVerified      *bool `json:"email_verified"`
		AuthTime           int64 `json:"auth_time"`
	}
	idt.Claims(&claims) //nolint:errcheck // checked below
	if idt.Subject != userID || claims.Nonce != "n-0S6_WzA2Mj" || claims.Name != "Ada Lovelace" || claims.Email != "ada@example.com" ||
		claims.EmailVerified == nil || claims.AuthTime == 0 {
		t.Errorf("ID token claims: sub %s %+v", idt.Subject, claims)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}

	// UserInfo with the access token.
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != userID || info.Email != "ada@example.com" {
		t.Fatalf("userinfo: %+v %v", info, err)
	}

	// Refresh with rotation through the library.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Fatalf("refresh did not rotate: %+v", fresh)
	}
	if _, body := s.b.post(s.acme, "/oauth/introspect", url.Values{"token": {tok.RefreshToken}}, rs.ID, rs.Secret); body["active"] != false {
		t.Errorf("the rotated refresh token is still active: %v", body)
	}
	if _, body := s.b.post(s.acme, "/oauth/introspect", url.Values{"token": {fresh.RefreshToken}}, rs.ID, rs.Secret); body["active"] != true || body["token_type"] != "refresh_token" {
		t.Errorf("the new refresh token: %v", body)
	}

	// Narrowing works, widening does not.
	code2, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {spa.ID},
		"refresh_token": {fresh.RefreshToken}, "scope": {"read:documents"}}, "", "")
	if code2 != 200 || body["scope"] != "read:documents" || body["id_token"] != nil {
		t.Fatalf("narrowed refresh: %d %v", code2, body)
	}
	narrowedRefresh, _ := body["refresh_token"].(string)
	code2, body = s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {spa.ID},
		"refresh_token": {narrowedRefresh}, "scope": {"read:documents write:documents"}}, "", "")
	if code2 != 400 || body["error"] != "invalid_scope" {
		t.Errorf("widened refresh: %d %v", code2, body)
	}
	checkIsolation(t, s, ci, userID, fresh.AccessToken)
}

// checkIsolation presents acme-test's codes, tokens and keys to other-env: nothing works.
func checkIsolation(t *testing.T, s *stack, ci *codeIssuer, userID, accessToken string) {
	t.Helper()
	other := s.client(t, s.other, "--name", "Other web", "--type", "confidential", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", "https://other.example.com/cb")
	code := ci.issue(t, s.acme, authcode.Issued{ClientID: other.ID, RedirectURI: "https://other.example.com/cb", Scope: "openid", UserID: userID})
	if st, body := s.a.post(s.other, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://other.example.com/cb"}}, other.ID, other.Secret); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf(s.acme+"'s code at "+s.other+": %d %v", st, body)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strings.Split(s.a.domain, ":")[1]+"/oauth/userinfo", nil)
	req.Host = s.a.host(s.other)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf(s.acme+"'s token at "+s.other+" userinfo: %v %v", resp, err)
	}
	_, a := s.a.get(s.a.host(s.acme), "/.well-known/jwks.json")
	_, o := s.a.get(s.a.host(s.other), "/.well-known/jwks.json")
	kids := map[any]bool{}
	for _, k := range a["keys"].([]any) {
		kids[k.(map[string]any)["kid"]] = true
	}
	for _, k := range o["keys"].([]any) {
		if kids[k.(map[string]any)["kid"]] {
			t.Error("two environments share a signing key")
		}
	}
	_, disc := s.a.get(s.a.host(s.other), "/.well-known/openid-configuration")
	if disc["issuer"] != s.a.issuer(s.other) {
		t.Errorf(s.other+" discovery: %v", disc["issuer"])
	}
}

func (s *stack) userJSON(t *testing.T, env, email, name string) string {
	t.Helper()
	out := s.run(t, "users", "create", "--env", env, "--email", email, "--name", name, "--password", "correct horse battery", "--json")
	var r struct {
		ID string `json:"user_id"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID == "" {
		t.Fatalf("users create: %s", out)
	}
	return r.ID
}

// A replayed code fails and revokes what the first redemption issued; a reused refresh
// token revokes the whole family and is announced on NATS; PKCE and binding failures are
// invalid_grant.
func TestCodeReplayAndRefreshReuse(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	web := s.client(t, s.acme, "--name", "Web", "--type", "confidential", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	userID := s.userJSON(t, s.acme, "bob@example.com", "Bob")
	ci := newCodeIssuer(t, s, time.Now)
	redeem := func(code string, extra url.Values) (int, map[string]any) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example.com/cb"}}
		for k, v := range extra {
			form[k] = v
		}
		return s.a.post(s.acme, "/oauth/token", form, web.ID, web.Secret)
	}
	newCode := func(challenge string) string {
		return ci.issue(t, s.acme, authcode.Issued{ClientID: web.ID, RedirectURI: "https://app.example.com/cb",
			RedirectGiven: true, Scope: "openid", UserID: userID, Challenge: challenge})
	}

	code := newCode("")
	st, first := redeem(code, nil)
	if st != 200 {
		t.Fatalf("first redemption: %d %v", st, first)
	}
	if st, body := redeem(code, nil); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("second redemption: %d %v", st, body)
	}
	for _, k := range []string{"access_token", "refresh_token"} {
		if _, body := s.b.post(s.acme, "/oauth/introspect", url.Values{"token": {first[k].(string)}}, web.ID, web.Secret); body["active"] != false {
			t.Errorf("%s of a replayed code is still active: %v", k, body)
		}
	}

	// Refresh reuse.
	nc, err := nats.Connect(s.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	reuse, _ := nc.SubscribeSync("paylent.events." + s.acme + ".grant.reuse_detected")
	revokedGrant, _ := nc.SubscribeSync("paylent.events." + s.acme + ".grant.revoked")
	_, tokens := redeem(newCode(""), nil)
	r1 := tokens["refresh_token"].(string)
	refresh := func(rt string) (int, map[string]any) {
		return s.b.post(s.acme, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, web.ID, web.Secret)
	}
	st, body := refresh(r1)
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, body)
	}
	r2, a2 := body["refresh_token"].(string), body["access_token"].(string)
	if st, body := refresh(r1); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("reused refresh token: %d %v", st, body)
	}
	if st, _ := refresh(r2); st != 400 {
		t.Errorf("the newest refresh token survived a reuse: %d", st)
	}
	if _, body := s.a.post(s.acme, "/oauth/introspect", url.Values{"token": {a2}}, web.ID, web.Secret); body["active"] != false {
		t.Errorf("access token of a revoked family: %v", body)
	}
	if _, err := reuse.NextMsg(5 * time.Second); err != nil {
		t.Errorf("no grant.reuse_detected on NATS: %v", err)
	}
	// The code replay above revoked a grant too; look for the reuse's revocation.
	found := false
	for !found {
		msg, err := revokedGrant.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("no grant.revoked for the reuse on NATS: %v", err)
		}
		var ev struct {
			Data struct {
				Reason string                 `json:"reason"`
				Tokens []struct{ JTI string } `json:"tokens"`
			} `json:"data"`
		}
		if err := json.Unmarshal(msg.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.Reason == "refresh_token_reuse" {
			found = true
			if len(ev.Data.Tokens) < 3 {
				t.Errorf("grant.revoked must list the family's live tokens: %+v", ev.Data)
			}
		}
	}

	// Binding and PKCE failures.
	verifier := strings.Repeat("k", 50)
	pkce := newCode(oauth2S256(verifier))
	for name, extra := range map[string]url.Values{
		"no verifier":    nil,
		"wrong verifier": {"code_verifier": {strings.Repeat("x", 50)}},
		"other redirect": {"code_verifier": {verifier}, "redirect_uri": {"https://app.example.com/other"}},
	} {
		if st, body := redeem(pkce, extra); st != 400 || body["error"] != "invalid_grant" {
			t.Errorf("%s: %d %v", name, st, body)
		}
	}
	if st, body := redeem(pkce, url.Values{"code_verifier": {verifier}}); st != 200 {
		t.Errorf("right verifier after failures: %d %v", st, body)
	}
	old := newCodeIssuer(t, s, func() time.Time { return time.Now().Add(-2 * time.Minute) })
	expired := old.issue(t, s.acme, authcode.Issued{ClientID: web.ID, RedirectURI: "https://app.example.com/cb", Scope: "openid", UserID: userID})
	if st, body := redeem(expired, nil); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("expired code: %d %v", st, body)
	}
	if st, body := redeem("never-issued", nil); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("unknown code: %d %v", st, body)
	}
	// Code injection: a code issued to one client is useless to another, even with the
	// right redirect URI and verifier.
	thief := s.client(t, s.acme, "--name", "Thief", "--type", "confidential", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	stolen := newCode("")
	if st, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {stolen},
		"redirect_uri": {"https://app.example.com/cb"}}, thief.ID, thief.Secret); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("another client's code: %d %v", st, body)
	}
	if st, _ := redeem(stolen, nil); st != 200 {
		t.Errorf("the rightful client after an injection attempt: %d", st)
	}
	if code, body := s.a.get(s.a.host(s.acme), "/oauth/userinfo"); code != http.StatusUnauthorized {
		t.Errorf("userinfo without a token: %d %v", code, body)
	}
}

var operator = domain.Actor{Kind: domain.ActorOperator, ID: "test"}

func oauth2S256(verifier string) string { return oauth2.S256ChallengeFromVerifier(verifier) }

// Within a client's retry window, presenting the just-rotated refresh token again returns
// the same new refresh token (the response was lost on a mobile network), not a revocation.
func TestRefreshRetryWindow(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	app := s.client(t, s.acme, "--name", "Mobile", "--type", "public", "--grant", "authorization_code", "--grant", "refresh_token",
		"--redirect-uri", "com.example.docs:/oauth", "--scope", "openid", "--refresh-retry-window", "30")
	userID := s.userJSON(t, s.acme, "carol@example.com", "Carol")
	verifier := strings.Repeat("m", 60)
	code := newCodeIssuer(t, s, time.Now).issue(t, s.acme, authcode.Issued{ClientID: app.ID, RedirectURI: "com.example.docs:/oauth",
		Scope: "openid", UserID: userID, Challenge: oauth2S256(verifier)})
	_, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {app.ID},
		"code": {code}, "code_verifier": {verifier}}, "", "")
	r1, _ := body["refresh_token"].(string)
	refresh := func(rt string) (int, map[string]any) {
		return s.b.post(s.acme, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {app.ID}, "refresh_token": {rt}}, "", "")
	}
	st, first := refresh(r1)
	st2, again := refresh(r1)
	if st != 200 || st2 != 200 || first["refresh_token"] != again["refresh_token"] || first["access_token"] == again["access_token"] {
		t.Fatalf("retry within the window: %d %v / %d %v", st, first, st2, again)
	}
	if st, body := refresh(first["refresh_token"].(string)); st != 200 {
		t.Errorf("the new refresh token after a retry: %d %v", st, body)
	}
}
