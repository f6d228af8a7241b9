package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// flowRig is an environment with custom scopes read and write, a backend (client
// credentials, read), a confidential web app and a public SPA (code and refresh, openid,
// offline_access and read), and a user.
type flowRig struct {
	h             *apptest.Harness
	t             tenants.Tenant
	svc, web, spa catalog.Client
	userID        string
}

var browserOfTest = app.Browser{IP: "192.0.2.1", UserAgent: "test"}

// newFlowEnv makes the environment (its signing keys are the costly part) and its scopes;
// parties gives each case its own clients and user in it.
func newFlowEnv(t *testing.T) *flowRig {
	t.Helper()
	h := newHarness(t)
	for _, s := range []string{"read", "write"} {
		if _, err := h.App.CreateScope(t.Context(), app.CreateScope{Environment: env, Name: s, Description: s}, apptest.Operator); err != nil {
			t.Fatal(err)
		}
	}
	r := &flowRig{h: h}
	var err error
	if r.t, err = tenants.NewDirectory(h.Catalog, "localhost:4000", "http").Get(env); err != nil {
		t.Fatal(err)
	}
	return r
}

// parties registers a fresh backend, web app and SPA (tokens in format) and a fresh user.
func (e *flowRig) parties(t *testing.T, format environment.TokenFormat) *flowRig {
	t.Helper()
	r := &flowRig{h: e.h, t: e.t}
	register := func(typ client.Type, s client.Settings) catalog.Client {
		s.TokenFormat = format
		reg, err := r.h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: env, Type: typ, Settings: s, Grantor: client.OperatorGrantor}, apptest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		cl, _ := r.h.Catalog.Client(env, reg.ClientID)
		return cl
	}
	r.svc = register(client.Confidential, service("read"))
	user := webApp()
	user.Scopes = append(user.Scopes, "read")
	r.web = register(client.Confidential, user)
	user.Name = "spa"
	r.spa = register(client.Public, user)
	r.userID = r.newUser(t, strings.ToLower(r.web.ID)+"@example.com")
	return r
}

func (r *flowRig) newUser(t *testing.T, email string) string {
	t.Helper()
	pw, err := user.NewPassword("a long enough passphrase", email)
	if err != nil {
		t.Fatal(err)
	}
	u, err := r.h.App.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: email, Name: "Ada", Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	return u.UserID
}

func (r *flowRig) req(cl catalog.Client) app.TokenRequest {
	return app.TokenRequest{Tenant: r.t, Client: cl, Actor: domain.Actor{Kind: domain.ActorClient, ID: cl.ID}}
}

// code signs the user in and issues a code for cl, as the login pages do.
func (r *flowRig) code(t *testing.T, cl catalog.Client, scope, challenge string) string {
	t.Helper()
	s, err := r.h.App.StartSession(t.Context(), app.StartSession{Environment: env, UserID: r.userID, TTL: time.Hour, Browser: browserOfTest})
	if err != nil {
		t.Fatal(err)
	}
	code, err := r.h.App.IssueCode(t.Context(), app.IssueCode{Environment: env, ClientID: cl.ID, RedirectURI: cl.Settings.RedirectURIs[0],
		RedirectGiven: true, Scope: scope, Challenge: challenge, Nonce: "n-1", Session: s.Session, Browser: browserOfTest})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// redeem redeems a code for the confidential web app.
func (r *flowRig) redeem(t *testing.T, code string) (app.TokenResponse, *oauth.Error) {
	t.Helper()
	return r.h.App.AuthorizationCode(t.Context(), app.CodeRequest{TokenRequest: r.req(r.web), Code: code,
		RedirectURI: r.web.Settings.RedirectURIs[0]})
}

// tokens redeems a fresh code for the web app and fails the test if it cannot.
func (r *flowRig) tokens(t *testing.T, scope string) app.TokenResponse {
	t.Helper()
	resp, oe := r.redeem(t, r.code(t, r.web, scope, ""))
	if oe != nil {
		t.Fatal(oe)
	}
	return resp
}

// active reports whether a token value is an active token of the environment.
func (r *flowRig) active(t *testing.T, value string) bool {
	t.Helper()
	tok, err := r.h.App.LookupToken(t.Context(), r.t, value)
	if err != nil {
		return false
	}
	return tok.Active(time.Now())
}

// wantError checks an OAuth outcome: code "" expects success.
func wantError(t *testing.T, oe *oauth.Error, code, description string) {
	t.Helper()
	switch {
	case code == "" && oe != nil:
		t.Fatalf("unexpected %v", oe)
	case code == "":
	case oe == nil:
		t.Fatalf("succeeded; want %s", code)
	case oe.Code != code || !strings.Contains(oe.Description, description):
		t.Fatalf("got %s (%s), want %s (%s)", oe.Code, oe.Description, code, description)
	}
}

func TestClientCredentialsFlow(t *testing.T) {
	fe := newFlowEnv(t)
	cases := []struct {
		name, scope       string
		client            func(r *flowRig) catalog.Client
		format            environment.TokenFormat
		wantCode, wantMsg string
		wantScope         string
	}{
		{name: "all it may have", wantScope: "read"},
		{name: "opaque", format: environment.TokenOpaque, wantScope: "read"},
		{name: "narrower", scope: "read", wantScope: "read"},
		{name: "scope not allowed", scope: "read write", wantCode: "invalid_scope", wantMsg: `scope "write" is not allowed`},
		{name: "openid needs a user", scope: "openid", wantCode: "invalid_scope", wantMsg: `"openid" is not allowed`},
		{name: "malformed scope", scope: "read\x00", wantCode: "invalid_scope"},
		{name: "client without the grant", client: func(r *flowRig) catalog.Client { return r.web },
			wantCode: "unauthorized_client", wantMsg: "client_credentials"},
		{name: "deleted client", client: func(r *flowRig) catalog.Client {
			if _, err := r.h.App.DeleteClient(t.Context(), app.ClientRef{Environment: env, ClientID: r.svc.ID}, apptest.Operator); err != nil {
				t.Fatal(err)
			}
			return r.svc // as the face authenticated it a moment before
		}, wantCode: "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := fe.parties(t, tc.format)
			cl := r.svc
			if tc.client != nil {
				cl = tc.client(r)
			}
			req := r.req(cl)
			req.Scope = tc.scope
			resp, oe := r.h.App.ClientCredentials(t.Context(), req)
			wantError(t, oe, tc.wantCode, tc.wantMsg)
			if oe != nil {
				return
			}
			if resp.Scope != tc.wantScope || resp.TokenType != "Bearer" || resp.RefreshToken != "" || resp.IDToken != "" || resp.ExpiresIn <= 0 {
				t.Fatalf("response %+v", resp)
			}
			if !r.active(t, resp.AccessToken) {
				t.Error("the issued token is not active")
			}
			if opaque := strings.HasPrefix(resp.AccessToken, "pat_"); opaque != (tc.format == environment.TokenOpaque) {
				t.Errorf("format: token %.10s…", resp.AccessToken)
			}
		})
	}
}

func TestAuthorizationCodeFlow(t *testing.T) {
	fe := newFlowEnv(t)
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	cases := []struct {
		name              string
		run               func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error)
		wantCode, wantMsg string
	}{
		{"redeemed", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			return r.redeem(t, r.code(t, r.web, "openid offline_access read", ""))
		}, "", ""},
		{"public client with PKCE", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			code := r.code(t, r.spa, "openid", oauth.S256Challenge(verifier))
			return r.h.App.AuthorizationCode(t.Context(), app.CodeRequest{TokenRequest: r.req(r.spa), Code: code,
				RedirectURI: r.spa.Settings.RedirectURIs[0], CodeVerifier: verifier})
		}, "", ""},
		{"PKCE mismatch", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			code := r.code(t, r.spa, "openid", oauth.S256Challenge(verifier))
			return r.h.App.AuthorizationCode(t.Context(), app.CodeRequest{TokenRequest: r.req(r.spa), Code: code,
				RedirectURI: r.spa.Settings.RedirectURIs[0], CodeVerifier: strings.Repeat("x", 43)})
		}, "invalid_grant", "code_verifier does not match"},
		{"public client without PKCE", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			code := r.code(t, r.spa, "openid", "")
			return r.h.App.AuthorizationCode(t.Context(), app.CodeRequest{TokenRequest: r.req(r.spa), Code: code,
				RedirectURI: r.spa.Settings.RedirectURIs[0]})
		}, "invalid_grant", "must use PKCE"},
		{"code of another client", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			return r.redeem(t, r.code(t, r.spa, "openid", oauth.S256Challenge(verifier)))
		}, "invalid_grant", "issued to another client"},
		{"redirect_uri differs", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			return r.h.App.AuthorizationCode(t.Context(), app.CodeRequest{TokenRequest: r.req(r.web),
				Code: r.code(t, r.web, "openid", ""), RedirectURI: "https://evil.example/cb"})
		}, "invalid_grant", "redirect_uri does not match"},
		{"unknown code", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			return r.redeem(t, "no-such-code")
		}, "invalid_grant", "invalid, expired or already used"},
		{"missing code", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			return r.redeem(t, "")
		}, "invalid_request", `missing parameter "code"`},
		{"client without the grant", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			return r.h.App.AuthorizationCode(t.Context(), app.CodeRequest{TokenRequest: r.req(r.svc), Code: "x"})
		}, "unauthorized_client", "authorization_code"},
		{"user disabled after the code was issued", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			code := r.code(t, r.web, "openid", "")
			if _, err := r.h.App.DisableUser(t.Context(), app.UserRef{Environment: env, UserID: r.userID}, apptest.Operator); err != nil {
				t.Fatal(err)
			}
			return r.redeem(t, code)
		}, "invalid_grant", "no longer valid"},
		{"user deleted after the code was issued", func(t *testing.T, r *flowRig) (app.TokenResponse, *oauth.Error) {
			code := r.code(t, r.web, "openid", "")
			if _, err := r.h.App.DeleteUser(t.Context(), app.UserRef{Environment: env, UserID: r.userID}, apptest.Operator); err != nil {
				t.Fatal(err)
			}
			return r.redeem(t, code)
		}, "invalid_grant", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := fe.parties(t, "")
			resp, oe := tc.run(t, r)
			wantError(t, oe, tc.wantCode, tc.wantMsg)
			if oe != nil {
				return
			}
			if resp.AccessToken == "" || resp.IDToken == "" || !r.active(t, resp.AccessToken) {
				t.Fatalf("response %+v", resp)
			}
		})
	}
}

func TestCodeReplayRevokesTheFirstTokens(t *testing.T) {
	r := newFlowEnv(t).parties(t, environment.TokenOpaque)
	code := r.code(t, r.web, "openid offline_access read", "")
	first, oe := r.redeem(t, code)
	if oe != nil {
		t.Fatal(oe)
	}
	if first.RefreshToken == "" || !r.active(t, first.AccessToken) || !r.active(t, first.RefreshToken) {
		t.Fatalf("first redemption %+v", first)
	}
	_, oe = r.redeem(t, code)
	wantError(t, oe, "invalid_grant", "already used; the tokens issued from it are revoked")
	if r.active(t, first.AccessToken) || r.active(t, first.RefreshToken) {
		t.Error("the first redemption's tokens survived the replay")
	}
}

func TestRefreshFlow(t *testing.T) {
	fe := newFlowEnv(t)
	refresh := func(r *flowRig, cl catalog.Client, value, scope string) (app.TokenResponse, *oauth.Error) {
		req := r.req(cl)
		req.Scope = scope
		return r.h.App.Refresh(t.Context(), app.RefreshRequest{TokenRequest: req, RefreshToken: value})
	}
	cases := []struct {
		name              string
		run               func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error)
		wantCode, wantMsg string
		wantScope         string
	}{
		{"rotation", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			next, oe := refresh(r, r.web, first.RefreshToken, "")
			if oe == nil && (next.RefreshToken == first.RefreshToken || r.active(t, first.RefreshToken) || !r.active(t, next.RefreshToken)) {
				t.Error("the refresh token did not rotate")
			}
			return next, oe
		}, "", "", "offline_access openid read"},
		{"narrowing", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			next, oe := refresh(r, r.web, first.RefreshToken, "read")
			if oe == nil {
				again, oe := refresh(r, r.web, next.RefreshToken, "openid read") // the grant keeps what was granted
				if oe != nil || again.Scope != "openid read" {
					t.Errorf("after narrowing: %+v %v", again, oe)
				}
			}
			return next, oe
		}, "", "", "read"},
		{"widening", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			return refresh(r, r.web, first.RefreshToken, "read write")
		}, "invalid_scope", `scope "write" was not granted`, ""},
		{"reuse revokes the grant", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			next, oe := refresh(r, r.web, first.RefreshToken, "")
			if oe != nil {
				t.Fatal(oe)
			}
			_, oe = refresh(r, r.web, first.RefreshToken, "")
			if r.active(t, next.RefreshToken) || r.active(t, next.AccessToken) {
				t.Error("the grant's newest tokens survived the reuse")
			}
			return app.TokenResponse{}, oe
		}, "invalid_grant", "already used; the grant is revoked", ""},
		{"another client's refresh token", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			return refresh(r, r.spa, first.RefreshToken, "")
		}, "invalid_grant", "invalid, expired or revoked", ""},
		{"an access token", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			return refresh(r, r.web, first.AccessToken, "")
		}, "invalid_grant", "invalid, expired or revoked", ""},
		{"disabled user", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			if _, err := r.h.App.DisableUser(t.Context(), app.UserRef{Environment: env, UserID: r.userID}, apptest.Operator); err != nil {
				t.Fatal(err)
			}
			return refresh(r, r.web, first.RefreshToken, "")
		}, "invalid_grant", "", ""},
		{"re-enabled user: nothing comes back", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			ref := app.UserRef{Environment: env, UserID: r.userID}
			if _, err := r.h.App.DisableUser(t.Context(), ref, apptest.Operator); err != nil {
				t.Fatal(err)
			}
			if _, err := r.h.App.EnableUser(t.Context(), ref, apptest.Operator); err != nil {
				t.Fatal(err)
			}
			return refresh(r, r.web, first.RefreshToken, "")
		}, "invalid_grant", "", ""},
		{"deleted client", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			if _, err := r.h.App.DeleteClient(t.Context(), app.ClientRef{Environment: env, ClientID: r.web.ID}, apptest.Operator); err != nil {
				t.Fatal(err)
			}
			return refresh(r, r.web, first.RefreshToken, "")
		}, "invalid_grant", "", ""},
		{"missing token", func(t *testing.T, r *flowRig, first app.TokenResponse) (app.TokenResponse, *oauth.Error) {
			return refresh(r, r.web, "", "")
		}, "invalid_request", `missing parameter "refresh_token"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := fe.parties(t, environment.TokenOpaque)
			first := r.tokens(t, "openid offline_access read")
			resp, oe := tc.run(t, r, first)
			wantError(t, oe, tc.wantCode, tc.wantMsg)
			if oe != nil {
				return
			}
			if resp.Scope != tc.wantScope || !r.active(t, resp.AccessToken) {
				t.Fatalf("response %+v", resp)
			}
		})
	}
}

func TestRevokeByClient(t *testing.T) {
	fe := newFlowEnv(t)
	cases := []struct {
		name     string
		by       func(r *flowRig) catalog.Client
		token    func(t *testing.T, r *flowRig, first app.TokenResponse) string
		wantCode string
		// revoked lists what must be inactive afterwards.
		revoked func(first app.TokenResponse) []string
		kept    func(first app.TokenResponse) []string
	}{
		{name: "own access token", token: func(_ *testing.T, _ *flowRig, f app.TokenResponse) string { return f.AccessToken },
			revoked: func(f app.TokenResponse) []string { return []string{f.AccessToken} },
			kept:    func(f app.TokenResponse) []string { return []string{f.RefreshToken} }},
		{name: "own refresh token ends the grant", token: func(_ *testing.T, _ *flowRig, f app.TokenResponse) string { return f.RefreshToken },
			revoked: func(f app.TokenResponse) []string { return []string{f.AccessToken, f.RefreshToken} }},
		{name: "another client's token", by: func(r *flowRig) catalog.Client { return r.svc },
			token:    func(_ *testing.T, _ *flowRig, f app.TokenResponse) string { return f.AccessToken },
			wantCode: "unauthorized_client",
			kept:     func(f app.TokenResponse) []string { return []string{f.AccessToken, f.RefreshToken} }},
		{name: "unknown token", token: func(*testing.T, *flowRig, app.TokenResponse) string { return "not-a-token" },
			kept: func(f app.TokenResponse) []string { return []string{f.AccessToken, f.RefreshToken} }},
		{name: "already revoked", token: func(t *testing.T, r *flowRig, f app.TokenResponse) string {
			if oe := r.h.App.RevokeByClient(t.Context(), app.ClientRevokeRequest{TokenRequest: r.req(r.web), Token: f.AccessToken}); oe != nil {
				t.Fatal(oe)
			}
			return f.AccessToken
		}, revoked: func(f app.TokenResponse) []string { return []string{f.AccessToken} }},
	}
	for _, format := range []environment.TokenFormat{environment.TokenJWT, environment.TokenOpaque} {
		for _, tc := range cases {
			t.Run(string(format)+"/"+tc.name, func(t *testing.T) {
				r := fe.parties(t, format)
				first := r.tokens(t, "openid offline_access")
				by := r.web
				if tc.by != nil {
					by = tc.by(r)
				}
				oe := r.h.App.RevokeByClient(t.Context(), app.ClientRevokeRequest{TokenRequest: r.req(by), Token: tc.token(t, r, first)})
				wantError(t, oe, tc.wantCode, "")
				if tc.revoked != nil {
					for _, v := range tc.revoked(first) {
						if r.active(t, v) {
							t.Errorf("%.12s… is still active", v)
						}
					}
				}
				if tc.kept != nil {
					for _, v := range tc.kept(first) {
						if !r.active(t, v) {
							t.Errorf("%.12s… was revoked", v)
						}
					}
				}
			})
		}
	}
}
