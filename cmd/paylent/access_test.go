package main_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/domain/authcode"
)

// userinfo calls /oauth/userinfo of an instance with a bearer token.
func (i *instance) userinfo(t *testing.T, env, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strings.Split(i.domain, ":")[1]+"/oauth/userinfo", nil)
	req.Host = i.host(env)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// revokedJTIs collects the jtis announced revoked on NATS (token.revoked and grant.revoked).
type revokedJTIs struct {
	sub *nats.Subscription
	got map[string]string // jti → reason
}

func watchRevoked(t *testing.T, s *stack, env string) *revokedJTIs {
	t.Helper()
	nc, err := nats.Connect(s.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync("paylent.events." + env + ".*.revoked")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return &revokedJTIs{sub: sub, got: map[string]string{}}
}

// waitFor reads announcements until jti is among them.
func (r *revokedJTIs) waitFor(t *testing.T, jti string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.got[jti] == "" {
		msg, err := r.sub.NextMsg(time.Until(deadline))
		if err != nil {
			t.Fatalf("jti %s was never announced revoked: %v", jti, err)
		}
		var ev struct {
			Data struct {
				JTI    string `json:"jti"`
				Reason string `json:"reason"`
				Tokens []struct {
					JTI string `json:"jti"`
				} `json:"tokens"`
			} `json:"data"`
		}
		if err := json.Unmarshal(msg.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.JTI != "" {
			r.got[ev.Data.JTI] = ev.Data.Reason
		}
		for _, tok := range ev.Data.Tokens {
			r.got[tok.JTI] = ev.Data.Reason
		}
	}
	return r.got[jti]
}

// jtiOf reads a JWT's jti (the token is Paylent's own: no verification needed here).
func jtiOf(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	var claims struct {
		JTI string `json:"jti"`
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &claims) != nil || claims.JTI == "" {
		t.Fatalf("JWT claims: %v", err)
	}
	return claims.JTI
}

// Ending access ends it in every face and every token at once (issue 12's findings, each
// of which passed before): a disabled user's refresh token, access token, UserInfo and
// revocation events; a deleted client's Management API token and tokens; management
// scopes that escalate; and a token revoked through the Management API.
func TestEndingAccessEndsItEverywhere(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	admin := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:read admin:write admin:users")}
	web := s.client(t, s.acme, "--name", "Web", "--type", "confidential", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	ci := newCodeIssuer(t, s, time.Now)
	watch := watchRevoked(t, s, s.acme)
	signIn := func(userID string) (int, map[string]any) {
		code := ci.issue(t, s.acme, authcode.Issued{ClientID: web.ID, RedirectURI: "https://app.example.com/cb",
			RedirectGiven: true, Scope: "openid", UserID: userID})
		return s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"https://app.example.com/cb"}}, web.ID, web.Secret)
	}
	refresh := func(inst *instance, rt string) (int, map[string]any) {
		return inst.post(s.acme, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, web.ID, web.Secret)
	}
	active := func(inst *instance, tok string) bool {
		_, body := inst.post(s.acme, "/oauth/introspect", url.Values{"token": {tok}}, web.ID, web.Secret)
		return body["active"] == true
	}

	t.Run("disabled user", func(t *testing.T) {
		userID := s.userJSON(t, s.acme, "dora@example.com", "Dora")
		st, toks := signIn(userID)
		if st != 200 {
			t.Fatalf("sign-in: %d %v", st, toks)
		}
		access, rt := toks["access_token"].(string), toks["refresh_token"].(string)
		if st, body := refresh(s.b, rt); st != 200 {
			t.Fatalf("refresh before: %d %v", st, body)
		} else {
			access, rt = body["access_token"].(string), body["refresh_token"].(string)
		}
		if st, _, body := admin.call("PATCH", "/users/"+userID, map[string]any{"disabled": true}); st != 200 {
			t.Fatalf("disable: %d %v", st, body)
		}
		// At once, on the other instance, in every face.
		if st, body := refresh(s.b, rt); st != 400 || body["error"] != "invalid_grant" {
			t.Errorf("refresh of a disabled user: %d %v", st, body)
		}
		if active(s.b, access) || active(s.b, rt) {
			t.Error("a disabled user's tokens introspect as active")
		}
		if st := s.b.userinfo(t, s.acme, access); st != 401 {
			t.Errorf("userinfo of a disabled user: %d", st)
		}
		if reason := watch.waitFor(t, jtiOf(t, access)); reason != "user_disabled" {
			t.Errorf("the access token's revocation reason: %q", reason)
		}
		// A code issued to them is not redeemed; enabling brings nothing back.
		if st, body := signIn(userID); st != 400 || body["error"] != "invalid_grant" {
			t.Errorf("code of a disabled user: %d %v", st, body)
		}
		if st, _, body := admin.call("PATCH", "/users/"+userID, map[string]any{"disabled": false}); st != 200 {
			t.Fatalf("enable: %d %v", st, body)
		}
		if st, _ := refresh(s.a, rt); st != 400 {
			t.Errorf("an old refresh token came back after enabling: %d", st)
		}
		if active(s.a, access) {
			t.Error("an old access token came back after enabling")
		}
		if st, body := signIn(userID); st != 200 {
			t.Errorf("sign-in after enabling: %d %v", st, body)
		}
	})

	t.Run("deleted user", func(t *testing.T) {
		userID := s.userJSON(t, s.acme, "eve@example.com", "Eve")
		_, toks := signIn(userID)
		access := toks["access_token"].(string)
		if st, _, body := admin.call("DELETE", "/users/"+userID, nil); st != 200 {
			t.Fatalf("delete: %d %v", st, body)
		}
		if active(s.b, access) || s.b.userinfo(t, s.acme, access) != 401 {
			t.Error("a deleted user's access token still works")
		}
		if reason := watch.waitFor(t, jtiOf(t, access)); reason != "user_deleted" {
			t.Errorf("revocation reason %q", reason)
		}
	})

	t.Run("deleted client", func(t *testing.T) {
		robot := s.client(t, s.acme, "--name", "Robot", "--type", "confidential", "--grant", "client_credentials",
			"--scope", "admin:write", "--scope", "admin:read")
		st, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin:write admin:read"}}, robot.ID, robot.Secret)
		if st != 200 {
			t.Fatalf("robot token: %d %v", st, body)
		}
		robotToken := body["access_token"].(string)
		asRobot := &mgmtClient{t: t, inst: s.b, env: s.acme, token: robotToken}
		if st, _, _ := asRobot.call("GET", "/clients", nil); st != 200 {
			t.Fatalf("robot before deletion: %d", st)
		}
		if st, _, body := admin.call("DELETE", "/clients/"+robot.ID, nil); st != 200 {
			t.Fatalf("delete client: %d %v", st, body)
		}
		if st, _, body := asRobot.call("POST", "/clients", map[string]any{"name": "Backdoor", "type": "public",
			"grant_types": []string{"authorization_code"}, "redirect_uris": []string{"https://evil.example/cb"}}); st != 401 {
			t.Errorf("a deleted client's token created a client: %d %v", st, body)
		}
		if active(s.b, robotToken) {
			t.Error("a deleted client's token introspects as active")
		}
	})

	t.Run("management scopes do not escalate", func(t *testing.T) {
		writer := s.client(t, s.acme, "--name", "Writer", "--type", "confidential", "--grant", "client_credentials",
			"--scope", "admin:write", "--scope", "admin:read")
		_, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin:write admin:read"}}, writer.ID, writer.Secret)
		asWriter := &mgmtClient{t: t, inst: s.a, env: s.acme, token: body["access_token"].(string)}
		if st, _, _ := asWriter.call("GET", "/users", nil); st != 403 {
			t.Fatalf("admin:write reads users: %d", st)
		}
		st, _, got := asWriter.call("POST", "/clients", map[string]any{"name": "Escalator", "type": "confidential",
			"grant_types": []string{"client_credentials"}, "scopes": []string{"admin:users"}})
		if st != 403 || got["error"] != "forbidden" {
			t.Errorf("admin:write created a client allowed admin:users: %d %v", st, got)
		}
		// Taking over a client that holds more: its secret cannot be rotated.
		_, _, list := admin.call("GET", "/clients", nil)
		for _, c := range list["clients"].([]any) {
			cl := c.(map[string]any)
			if cl["name"] != "Automation" {
				continue
			}
			id := cl["client_id"].(string)
			if st, _, got := asWriter.call("POST", "/clients/"+id+"/secret", map[string]any{}); st != 403 {
				t.Errorf("admin:write rotated the secret of an admin:users client: %d %v", st, got)
			}
			// Nor strip it of its scopes, nor delete it.
			if st, _, got := asWriter.call("PUT", "/clients/"+id, map[string]any{"name": "Automation", "type": "confidential",
				"grant_types": []string{"client_credentials"}, "scopes": []string{}}); st != 403 {
				t.Errorf("admin:write changed an admin:users client: %d %v", st, got)
			}
			if st, _, got := asWriter.call("DELETE", "/clients/"+id, nil); st != 403 {
				t.Errorf("admin:write deleted an admin:users client: %d %v", st, got)
			}
			break
		}
		// Within its own scopes it may (admin:write holds admin:read).
		if st, _, got := asWriter.call("POST", "/clients", map[string]any{"name": "Reader", "type": "confidential",
			"grant_types": []string{"client_credentials"}, "scopes": []string{"admin:read"}}); st != 201 {
			t.Errorf("admin:write giving admin:read: %d %v", st, got)
		}
		// The raw event stream holds users' data: admin:users only.
		if st, _, _ := asWriter.call("GET", "/events", nil); st != 403 {
			t.Errorf("admin:write read the event stream: %d", st)
		}
	})

	t.Run("revoke any token", func(t *testing.T) {
		backend := s.client(t, s.acme, "--name", "Backend", "--type", "confidential", "--grant", "client_credentials",
			"--scope", "read:documents")
		_, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, backend.ID, backend.Secret)
		tok := body["access_token"].(string)
		if !active(s.b, tok) {
			t.Fatal("fresh token inactive")
		}
		st, _, got := admin.call("POST", "/tokens/revoke", map[string]any{"token": tok})
		if st != 200 || got["jti"] != jtiOf(t, tok) {
			t.Fatalf("revoke: %d %v", st, got)
		}
		if active(s.b, tok) {
			t.Error("revoked token still active")
		}
		watch.waitFor(t, jtiOf(t, tok))
		// The CLI does the same, by jti.
		_, body = s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, backend.ID, backend.Secret)
		tok2 := body["access_token"].(string)
		if out := s.run(t, "tokens", "revoke", "--env", s.acme, "--jti", jtiOf(t, tok2), "--json"); !strings.Contains(out, jtiOf(t, tok2)) {
			t.Errorf("tokens revoke: %s", out)
		}
		if active(s.b, tok2) {
			t.Error("token revoked with the CLI still active")
		}
		for _, bad := range []map[string]any{{}, {"token": tok, "jti": "x"}, {"jti": strings.Repeat("x", 65)}} {
			if st, _, got := admin.call("POST", "/tokens/revoke", bad); st != 400 {
				t.Errorf("revoke %v: %d %v", bad, st, got)
			}
		}
		if st, _, _ := admin.call("POST", "/tokens/revoke", map[string]any{"jti": "no-such-token-anywhere"}); st != 404 {
			t.Errorf("unknown jti: %d", st)
		}
		// Another environment's token is unknown here.
		other := s.client(t, s.other, "--name", "Other", "--type", "confidential", "--grant", "client_credentials")
		_, ob := s.a.post(s.other, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, other.ID, other.Secret)
		if st, _, _ := admin.call("POST", "/tokens/revoke", map[string]any{"token": ob["access_token"]}); st != 404 {
			t.Errorf("revoking another environment's token: %d", st)
		}
	})
}
