package app_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
)

const env = "acme-dev"

func newHarness(t *testing.T) *apptest.Harness {
	t.Helper()
	h := apptest.New(t)
	h.Environment(t, "acme", env)
	return h
}

func service(scopes ...string) client.Settings {
	return client.Settings{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: scopes}
}

func webApp() client.Settings {
	return client.Settings{Name: "web", GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"openid", "offline_access"}}
}

// holding is the Management API's authority of a token with these scopes.
func holding(scopes ...string) client.Grantor {
	return client.Grantor{Holds: oauth.NewScopes(scopes...)}
}

func TestRegisterClient(t *testing.T) {
	cases := []struct {
		name   string
		req    app.RegisterClient
		want   error
		secret bool
	}{
		{"confidential by an operator", app.RegisterClient{Type: client.Confidential, Settings: service(oauth.ScopeAdminUsers),
			Grantor: client.OperatorGrantor}, nil, true},
		{"public", app.RegisterClient{Type: client.Public, Settings: client.Settings{Name: "spa",
			GrantTypes: []string{client.GrantAuthorizationCode}, RedirectURIs: []string{"https://spa.example/cb"}, Scopes: []string{"openid"}},
			Grantor: client.OperatorGrantor}, nil, false},
		{"a token gives what it holds", app.RegisterClient{Type: client.Confidential, Settings: service(oauth.ScopeAdminWrite),
			Grantor: holding(oauth.ScopeAdminWrite)}, nil, true},
		{"escalation: admin:write gives admin:users", app.RegisterClient{Type: client.Confidential,
			Settings: service(oauth.ScopeAdminUsers), Grantor: holding(oauth.ScopeAdminWrite)}, domain.ErrForbidden, false},
		{"the zero grantor gives no management scope", app.RegisterClient{Type: client.Confidential,
			Settings: service(oauth.ScopeAdminRead)}, domain.ErrForbidden, false},
		{"unknown environment", app.RegisterClient{Environment: "nope", Type: client.Confidential, Settings: service(),
			Grantor: client.OperatorGrantor}, domain.ErrNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.req.Environment == "" {
				tc.req.Environment = env
			}
			got, err := h.App.RegisterClient(t.Context(), tc.req, apptest.Operator)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err != nil {
				if n := len(h.Catalog.Clients(env)); n != 0 {
					t.Errorf("a refused registration left %d clients", n)
				}
				return
			}
			cl, ok := h.Catalog.Client(env, got.ClientID)
			if !ok || got.Position == 0 || len(got.ClientID) < 16 {
				t.Fatalf("registered %+v, catalog %v", got, ok)
			}
			if (got.Secret != "") != tc.secret {
				t.Fatalf("secret given: %v, want %v", got.Secret != "", tc.secret)
			}
			if tc.secret && !secret.Equal(got.Secret, cl.SecretHash) {
				t.Error("the show-once secret does not verify against the stored hash")
			}
		})
	}
}

func TestUpdateClient(t *testing.T) {
	h := newHarness(t)
	reg, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: env, Type: client.Confidential,
		Settings: service(oauth.ScopeAdminWrite), Grantor: client.OperatorGrantor}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		grantor client.Grantor
		scopes  []string
		want    error
	}{
		{"changing a client that holds more is refused", holding(oauth.ScopeAdminRead), []string{oauth.ScopeAdminWrite}, domain.ErrForbidden},
		{"stripping it of a scope the caller lacks too", holding(oauth.ScopeAdminRead), nil, domain.ErrForbidden},
		{"a holder of its scopes changes it", holding(oauth.ScopeAdminWrite), []string{oauth.ScopeAdminWrite}, nil},
		{"adding admin:users without holding it", holding(oauth.ScopeAdminWrite), []string{oauth.ScopeAdminWrite, oauth.ScopeAdminUsers}, domain.ErrForbidden},
		{"an operator adds it", client.OperatorGrantor, []string{oauth.ScopeAdminWrite, oauth.ScopeAdminUsers}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.App.UpdateClient(t.Context(), app.UpdateClient{Environment: env, ClientID: reg.ClientID,
				Settings: service(tc.scopes...), Grantor: tc.grantor}, apptest.Operator)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotateClientSecret(t *testing.T) {
	h := newHarness(t)
	reg, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: env, Type: client.Confidential,
		Settings: service(oauth.ScopeAdminUsers), Grantor: client.OperatorGrantor}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		grantor client.Grantor
		grace   time.Duration
		want    error
	}{
		{"a caller lacking the client's admin:users takes it over", holding(oauth.ScopeAdminWrite), 0, domain.ErrForbidden},
		{"an operator, with an hour's grace", client.OperatorGrantor, time.Hour, nil},
		{"a token holding admin:users", holding(oauth.ScopeAdminWrite, oauth.ScopeAdminUsers), 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := h.Catalog.Client(env, reg.ClientID)
			rot, err := h.App.RotateClientSecret(t.Context(), app.RotateClientSecret{Environment: env, ClientID: reg.ClientID,
				Grace: tc.grace, Grantor: tc.grantor}, apptest.Operator)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			after, _ := h.Catalog.Client(env, reg.ClientID)
			if err != nil {
				if after.SecretHash != before.SecretHash {
					t.Error("a refused rotation changed the secret")
				}
				return
			}
			if !secret.Equal(rot.Secret, after.SecretHash) || rot.Secret == reg.Secret {
				t.Error("the new show-once secret does not verify against the stored hash")
			}
			if after.PreviousSecretHash != before.SecretHash {
				t.Error("the old secret's hash is not kept for the grace period")
			}
			if d := time.Until(rot.PreviousValidUntil); d > tc.grace || d < tc.grace-time.Minute {
				t.Errorf("previous secret valid for %v, want %v", d, tc.grace)
			}
		})
	}
}

func TestCreateUser(t *testing.T) {
	h := newHarness(t)
	strong := func(t *testing.T, email string) user.Password {
		pw, err := user.NewPassword("a long and unusual phrase", email)
		if err != nil {
			t.Fatal(err)
		}
		return pw
	}
	t.Run("a weak password is refused by the one policy", func(t *testing.T) {
		for _, weak := range []string{"short", "password123", "ada@example.com"} {
			if _, err := user.NewPassword(weak, "ada@example.com"); !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("%q: %v", weak, err)
			}
		}
	})
	t.Run("a password the policy never saw is refused", func(t *testing.T) {
		_, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: "eve@example.com", Name: "Eve"}, apptest.Operator)
		if !errors.Is(err, domain.ErrInvalid) {
			t.Fatalf("err %v", err)
		}
		if _, ok := h.Catalog.UserByEmail(env, "eve@example.com"); ok {
			t.Error("the user exists")
		}
	})
	t.Run("created, with a hash of the password", func(t *testing.T) {
		got, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: "Ada@Example.com", Name: "Ada",
			Password: strong(t, "ada@example.com"), EmailVerified: true}, apptest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		u, ok := h.Catalog.User(env, got.UserID)
		if !ok || u.Email != "ada@example.com" || !u.EmailVerified || got.Position == 0 {
			t.Fatalf("user %+v (%v)", u, ok)
		}
	})
	t.Run("the address is taken", func(t *testing.T) {
		_, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: "ada@example.com", Name: "Ada 2",
			Password: strong(t, "ada@example.com")}, apptest.Operator)
		if !errors.Is(err, user.ErrEmailTaken) {
			t.Fatalf("err %v", err)
		}
	})
}

// userWithGrant makes a user signed in to a client: a session and a grant with two tokens.
func userWithGrant(t *testing.T, h *apptest.Harness) (string, app.ClientRegistered, apptest.SignedIn) {
	t.Helper()
	pw, _ := user.NewPassword("a long and unusual phrase", "ada@example.com")
	u, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: "ada@example.com", Name: "Ada", Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: env, Type: client.Confidential, Settings: webApp(),
		Grantor: client.OperatorGrantor}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	return u.UserID, cl, h.SignIn(t, env, u.UserID, cl.ClientID)
}

func TestEndingAccess(t *testing.T) {
	cases := []struct {
		name string
		end  func(h *apptest.Harness, userID, clientID string) (app.Ended, error)
		// sessionEnds: the user's session is revoked too (ending a client leaves it).
		sessionEnds bool
	}{
		{"disable user", func(h *apptest.Harness, userID, _ string) (app.Ended, error) {
			return h.App.DisableUser(t.Context(), app.UserRef{Environment: env, UserID: userID}, apptest.Operator)
		}, true},
		{"delete user", func(h *apptest.Harness, userID, _ string) (app.Ended, error) {
			return h.App.DeleteUser(t.Context(), app.UserRef{Environment: env, UserID: userID}, apptest.Operator)
		}, true},
		{"delete client", func(h *apptest.Harness, _, clientID string) (app.Ended, error) {
			return h.App.DeleteClient(t.Context(), app.ClientRef{Environment: env, ClientID: clientID}, apptest.Operator)
		}, false},
		{"revoke consent", func(h *apptest.Harness, userID, clientID string) (app.Ended, error) {
			return h.App.RevokeConsent(t.Context(), app.ConsentRef{Environment: env, UserID: userID, ClientID: clientID}, apptest.Operator)
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			userID, cl, in := userWithGrant(t, h)
			ended, err := tc.end(h, userID, cl.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			if ended.Grants != 1 || ended.Position == 0 {
				t.Errorf("ended %+v, want the one grant", ended)
			}
			for _, jti := range []string{in.AccessJTI, in.RefreshJTI} {
				if !h.Tokens.IsRevoked(env, jti) {
					t.Errorf("token %s is still active", jti)
				}
			}
			s, _ := h.Sessions.ByID(env, in.SessionID)
			if s.Revoked != tc.sessionEnds {
				t.Errorf("session revoked: %v, want %v", s.Revoked, tc.sessionEnds)
			}
			if grants, _ := h.Tokens.Held(env, userID, cl.ClientID, time.Now()); len(grants) != 0 {
				t.Errorf("still held: %v", grants)
			}
		})
	}
}

func TestEnableUserBringsNothingBack(t *testing.T) {
	h := newHarness(t)
	userID, _, in := userWithGrant(t, h)
	ref := app.UserRef{Environment: env, UserID: userID}
	if _, err := h.App.DisableUser(t.Context(), ref, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.EnableUser(t.Context(), ref, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	if u, _ := h.Catalog.User(env, userID); u.Disabled || !h.Tokens.IsRevoked(env, in.RefreshJTI) {
		t.Errorf("user %+v; refresh token revoked: %v", u, h.Tokens.IsRevoked(env, in.RefreshJTI))
	}
}

func TestSessions(t *testing.T) {
	h := newHarness(t)
	_, _, in := userWithGrant(t, h)
	ref := app.SessionRef{Environment: env, SessionID: in.SessionID}
	if _, err := h.App.TouchSession(t.Context(), app.TouchSession{Environment: env, SessionID: in.SessionID, IP: "192.0.2.1"}, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	w, err := h.App.RevokeSession(t.Context(), ref, apptest.Operator)
	if err != nil || w.Position == 0 {
		t.Fatalf("revoke: %+v %v", w, err)
	}
	if s, _ := h.Sessions.ByID(env, in.SessionID); !s.Revoked {
		t.Error("the session is active")
	}
	if _, err := h.App.RevokeSession(t.Context(), app.SessionRef{Environment: env, SessionID: "nope"}, apptest.Operator); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("an unknown session: %v", err)
	}
}

func TestCatalogOperations(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	steps := []struct {
		name string
		run  func() (app.Written, error)
		want error
	}{
		{"create API", func() (app.Written, error) {
			return h.App.CreateAPI(ctx, app.CreateAPI{Environment: env, Identifier: "https://api.example", Name: "API"}, apptest.Operator)
		}, nil},
		{"create scope of the API", func() (app.Written, error) {
			return h.App.CreateScope(ctx, app.CreateScope{Environment: env, Name: "read:docs", Description: "Read", API: "https://api.example"}, apptest.Operator)
		}, nil},
		{"create it again", func() (app.Written, error) {
			return h.App.CreateScope(ctx, app.CreateScope{Environment: env, Name: "read:docs", Description: "Read"}, apptest.Operator)
		}, domain.ErrAlreadyExists},
		{"delete a standard scope", func() (app.Written, error) {
			return h.App.DeleteScope(ctx, app.ScopeRef{Environment: env, Name: "openid"}, apptest.Operator)
		}, domain.ErrInvalid},
		{"delete it", func() (app.Written, error) {
			return h.App.DeleteScope(ctx, app.ScopeRef{Environment: env, Name: "read:docs"}, apptest.Operator)
		}, nil},
		{"change settings", func() (app.Written, error) {
			name := "Acme"
			return h.App.ChangeSettings(ctx, app.ChangeSettings{Environment: env, Patch: environment.SettingsPatch{DisplayName: &name}}, apptest.Operator)
		}, nil},
	}
	for _, s := range steps {
		w, err := s.run()
		if !errors.Is(err, s.want) || (err == nil && w.Position == 0) {
			t.Errorf("%s: %+v %v, want %v", s.name, w, err, s.want)
		}
	}
	if _, ok := h.Catalog.Scope(env, "read:docs"); ok {
		t.Error("the deleted scope is listed")
	}
	if e, _ := h.Catalog.Environment(env); e.Settings.DisplayName != "Acme" {
		t.Errorf("settings %+v", e.Settings)
	}
	name := "Acme"
	if w, err := h.App.ChangeSettings(ctx, app.ChangeSettings{Environment: env, Patch: environment.SettingsPatch{DisplayName: &name}}, apptest.Operator); err != nil || w.Position != 0 {
		t.Errorf("an unchanged patch: %+v %v", w, err)
	}
}

func TestRotateKeys(t *testing.T) {
	h := newHarness(t)
	before := h.Keys.Keys(env)
	rot, err := h.App.RotateKeys(t.Context(), app.RotateKeys{Environment: env}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	if rot.Primary == "" || rot.Next == "" || rot.Retired == "" || rot.Primary == rot.Retired || rot.Position == 0 {
		t.Fatalf("rotated %+v", rot)
	}
	// The old primary verifies for the environment's access token lifetime plus the grace.
	e, _ := h.Catalog.Environment(env)
	lifetime := e.Settings.AccessTokenTTL()
	if d := time.Until(rot.VerifyUntil); d > lifetime+app.RetireGrace || d < lifetime+app.RetireGrace-time.Minute {
		t.Errorf("retired key verifies for %v", d)
	}
	roles := map[string]signingkey.Role{}
	for _, k := range h.Keys.Keys(env) {
		roles[k.KID] = k.Role
	}
	// Created with its primary only, the environment has no next key to promote: the
	// rotation makes two (one promoted at once, one next).
	if roles[rot.Primary] != signingkey.RolePrimary || roles[rot.Retired] != signingkey.RoleRetired || len(roles) != len(before)+2 {
		t.Errorf("keys after rotation: %v", roles)
	}
	if _, err := h.App.RotateKeys(t.Context(), app.RotateKeys{Environment: "nope"}, apptest.Operator); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("an unknown environment: %v", err)
	}
}

func TestOperators(t *testing.T) {
	h := apptest.New(t)
	if _, err := h.App.CreateEnvironment(t.Context(), app.CreateEnvironment{Account: domain.OperatorsAccount,
		Slug: domain.OperatorsEnvironment, DisplayName: "ops", System: true}, apptest.System); err != nil {
		t.Fatal(err)
	}
	h.Environment(t, "acme", env)
	h.Environment(t, "globex", "globex-dev")
	ctx := t.Context()
	add := func(acct, email string, auth app.AccountAuthority) (app.OperatorAdded, error) {
		return h.App.AddOperator(ctx, app.AddOperator{Account: acct, Email: email, Name: email}, auth, apptest.Operator)
	}
	alice, err := add("acme", "alice@acme.example", app.AccountAuthority{Host: true})
	if err != nil || !alice.Created || alice.Generated == "" {
		t.Fatalf("the host adds the first operator: %+v %v", alice, err)
	}
	if _, err := user.NewPassword(alice.Generated, "alice@acme.example"); err != nil {
		t.Errorf("the generated password fails the policy: %v", err)
	}
	bob, err := add("globex", "bob@globex.example", app.AccountAuthority{Host: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		acct  string
		email string
		auth  app.AccountAuthority
		want  error
	}{
		{"nobody", "acme", "carol@acme.example", app.AccountAuthority{}, domain.ErrForbidden},
		{"an operator of another account", "acme", "carol@acme.example", app.AccountAuthority{Operator: bob.UserID}, domain.ErrForbidden},
		{"the operators' account", domain.OperatorsAccount, "carol@acme.example", app.AccountAuthority{Host: true}, domain.ErrInvalid},
		{"an account that does not exist", "initech", "carol@acme.example", app.AccountAuthority{Host: true}, domain.ErrNotFound},
		{"an operator of the account", "acme", "carol@acme.example", app.AccountAuthority{Operator: alice.UserID}, nil},
		{"an existing user is not created again", "acme", "bob@globex.example", app.AccountAuthority{Operator: alice.UserID}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := add(tc.acct, tc.email, tc.auth)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err != nil {
				if got.UserID != "" {
					t.Errorf("a refusal found or made a user: %+v", got)
				}
				return
			}
			if a, _ := h.Catalog.Account(tc.acct); a.Operators[got.UserID] == "" {
				t.Errorf("not an operator: %+v", a.Operators)
			}
			if (got.UserID == bob.UserID) == got.Created {
				t.Errorf("created %v for %s", got.Created, tc.email)
			}
		})
	}
	if _, err := h.App.RemoveOperator(ctx, app.RemoveOperator{Account: "globex", UserID: bob.UserID},
		app.AccountAuthority{Operator: alice.UserID}, apptest.Operator); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("removing another account's operator: %v", err)
	}
	if _, err := h.App.RemoveOperator(ctx, app.RemoveOperator{Account: "globex", UserID: bob.UserID},
		app.AccountAuthority{Operator: bob.UserID}, apptest.Operator); !errors.Is(err, account.ErrLastOperator) {
		t.Errorf("removing the last operator: %v", err)
	}
	if _, err := h.App.RemoveOperator(ctx, app.RemoveOperator{Account: "acme", UserID: alice.UserID},
		app.AccountAuthority{Operator: alice.UserID}, apptest.Operator); err != nil {
		t.Errorf("removing yourself: %v", err)
	}
}

func TestEnsureClientIsPaylentsOwn(t *testing.T) {
	h := newHarness(t)
	req := app.EnsureClient{Environment: env, ClientID: "paylent-dashboard", Type: client.Confidential, Secret: "derived", Settings: webApp()}
	if _, err := h.App.EnsureClient(t.Context(), req, apptest.Operator); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("an operator ensures: %v", err)
	}
	if _, err := h.App.EnsureClient(t.Context(), req, apptest.System); err != nil {
		t.Fatal(err)
	}
	if cl, ok := h.Catalog.Client(env, "paylent-dashboard"); !ok || !secret.Equal("derived", cl.SecretHash) {
		t.Errorf("client %+v", cl)
	}
}
