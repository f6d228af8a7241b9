package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/scope"
)

var (
	now  = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	hash = strings.Repeat("ab", 32)
	docs = scope.Created{Name: "read:documents", Description: "Read documents"}
	env  = environment.Created{Environment: "acme-test", Account: "acme", Settings: environment.DefaultSettings("acme-test")}
)

func register(settings client.Settings, typ client.Type, secret string) client.Register {
	return client.Register{Environment: "acme-test", ID: "client-0001", Type: typ, Settings: settings, SecretHash: secret}
}

func TestRegister(t *testing.T) {
	web := client.Settings{Name: "Docs", GrantTypes: []string{"refresh_token", "authorization_code"},
		RedirectURIs: []string{"http://localhost:3000/callback"}, Scopes: []string{"read:documents", "openid", "openid"}}
	cmd := register(web, client.Confidential, hash)
	refs := cmd.Streams()
	if len(refs) != 3 || !refs[0].Fresh || refs[2].Stream != "scope/acme-test/read:documents" {
		t.Fatalf("streams %+v", refs)
	}
	got, err := cmd.Decide([][]domain.Event{nil, {env}, {docs}}, now)
	if err != nil {
		t.Fatal(err)
	}
	reg := got[0][0].(client.Registered)
	if strings.Join(reg.Settings.GrantTypes, ",") != "authorization_code,refresh_token" || strings.Join(reg.Settings.Scopes, ",") != "openid,read:documents" {
		t.Errorf("not normalized: %+v", reg.Settings)
	}
	if _, err := cmd.Decide([][]domain.Event{nil, {env}, nil}, now); !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown scope: %v", err)
	}
	if _, err := cmd.Decide([][]domain.Event{nil, nil, {docs}}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown environment: %v", err)
	}
}

func TestRegisterRefuses(t *testing.T) {
	ok := client.Settings{Name: "App", GrantTypes: []string{"client_credentials"}}
	with := func(f func(*client.Settings)) client.Settings { s := ok; f(&s); return s }
	cases := map[string]client.Register{
		"public with cc": register(ok, client.Public, ""),
		"public with secret": register(with(func(s *client.Settings) {
			s.GrantTypes = []string{"authorization_code"}
			s.RedirectURIs = []string{"https://a.example/cb"}
		}), client.Public, hash),
		"confidential, no hash": register(ok, client.Confidential, ""),
		"bad type":              register(ok, "robot", hash),
		"no grants":             register(with(func(s *client.Settings) { s.GrantTypes = nil }), client.Confidential, hash),
		"unknown grant":         register(with(func(s *client.Settings) { s.GrantTypes = []string{"password"} }), client.Confidential, hash),
		"code without uri":      register(with(func(s *client.Settings) { s.GrantTypes = []string{"authorization_code"} }), client.Confidential, hash),
		"fragment":              register(with(func(s *client.Settings) { s.RedirectURIs = []string{"https://a.example/cb#x"} }), client.Confidential, hash),
		"http non-loopback":     register(with(func(s *client.Settings) { s.RedirectURIs = []string{"http://evil.example/cb"} }), client.Confidential, hash),
		"javascript":            register(with(func(s *client.Settings) { s.RedirectURIs = []string{"javascript:alert(1)"} }), client.Confidential, hash),
		"relative":              register(with(func(s *client.Settings) { s.RedirectURIs = []string{"/cb"} }), client.Confidential, hash),
		"empty name":            register(with(func(s *client.Settings) { s.Name = "" }), client.Confidential, hash),
		"bad format":            register(with(func(s *client.Settings) { s.TokenFormat = "saml" }), client.Confidential, hash),
		"bad scope":             register(with(func(s *client.Settings) { s.Scopes = []string{"a b"} }), client.Confidential, hash),
		"short id":              {Environment: "acme-test", ID: "x", Type: client.Confidential, Settings: ok, SecretHash: hash},
	}
	for name, cmd := range cases {
		h := make([][]domain.Event, len(cmd.Streams()))
		h[1] = []domain.Event{env}
		if _, err := cmd.Decide(h, now); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
	native := with(func(s *client.Settings) {
		s.GrantTypes = []string{"authorization_code"}
		s.RedirectURIs = []string{"com.example.app:/callback", "http://127.0.0.1:8765/cb", "http://[::1]/cb"}
	})
	if _, err := register(native, client.Public, "").Decide([][]domain.Event{nil, {env}}, now); err != nil {
		t.Errorf("native app redirect URIs: %v", err)
	}
}

func TestRotateSecretAndDelete(t *testing.T) {
	reg := client.Registered{ClientID: "client-0001", Type: client.Confidential, SecretHash: hash,
		Settings: client.Settings{Name: "App", GrantTypes: []string{"client_credentials"}}}
	newHash := strings.Repeat("cd", 32)
	got, err := client.RotateSecret{Environment: "acme-test", ID: "client-0001", SecretHash: newHash, Grace: time.Hour}.
		Decide([][]domain.Event{{reg}}, now)
	if err != nil {
		t.Fatal(err)
	}
	rot := got[0][0].(client.SecretRotated)
	if rot.PreviousSecretHash != hash || !rot.PreviousValidUntil.Equal(now.Add(time.Hour)) {
		t.Errorf("rotation %+v", rot)
	}
	s := client.Fold([]domain.Event{reg, rot})
	if s.SecretHash != newHash || s.PreviousSecretHash != hash {
		t.Errorf("fold %+v", s)
	}
	if _, err := (client.Delete{Environment: "acme-test", ID: "nope"}).Decide([][]domain.Event{nil}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("delete unknown: %v", err)
	}
	if s := client.Fold([]domain.Event{reg, client.Deleted{}}); s.Exists {
		t.Error("deleted client exists")
	}
}

func TestEnsure(t *testing.T) {
	env := []domain.Event{environment.Created{Environment: "paylent", Account: "paylent", Settings: environment.DefaultSettings("ops")}}
	settings := client.Settings{Name: "Dashboard", GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"http://dashboard.localhost:4000/callback"},
		Scopes: []string{"openid"}}
	ensure := client.Ensure{Environment: "paylent", ID: "paylent-dashboard", Type: client.Confidential, Settings: settings, SecretHash: hash}
	now := time.Now()
	out, err := ensure.Decide([][]domain.Event{nil, env}, now)
	if err != nil || len(out[0]) != 1 {
		t.Fatalf("first ensure registers: %v %v", out, err)
	}
	history := out[0]
	if again, err := ensure.Decide([][]domain.Event{history, env}, now); err != nil || len(again[0]) != 0 {
		t.Fatalf("unchanged ensure appends nothing: %v %v", again, err)
	}
	moved := ensure
	moved.Settings.RedirectURIs = []string{"https://dashboard.example.com/callback"}
	moved.SecretHash = strings.Repeat("cd", 32)
	out, err = moved.Decide([][]domain.Event{history, env}, now)
	if err != nil || len(out[0]) != 2 {
		t.Fatalf("changed ensure updates settings and secret: %v %v", out, err)
	}
	if _, ok := out[0][0].(client.Updated); !ok {
		t.Fatalf("first event %T", out[0][0])
	}
	if r, ok := out[0][1].(client.SecretRotated); !ok || !r.PreviousValidUntil.Equal(now.Add(client.EnsureGrace)) {
		t.Fatalf("second event %#v", out[0][1])
	}
}

func TestFirstPartyIsForConfidentialClients(t *testing.T) {
	settings := client.Settings{Name: "CLI", GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"http://127.0.0.1/callback"}, FirstParty: true}
	cmd := client.Register{Environment: "acme-test", ID: "public-first-party", Type: client.Public, Settings: settings}
	if _, err := cmd.Decide([][]domain.Event{nil, {env}}, time.Now()); !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "first_party") {
		t.Fatalf("a public first-party client: %v", err)
	}
	cmd.Type, cmd.SecretHash = client.Confidential, hash
	if _, err := cmd.Decide([][]domain.Event{nil, {env}}, time.Now()); err != nil {
		t.Fatalf("a confidential first-party client: %v", err)
	}
}

// Nobody gives a client a Management API scope they do not hold, nor changes, takes over or
// deletes a client that holds more than they do; operators hold all.
func TestGrantor(t *testing.T) {
	writer := client.Grantor{Holds: oauth.NewScopes("admin:write", "admin:read")}
	mgmt := client.Settings{Name: "Automation", GrantTypes: []string{"client_credentials"}, Scopes: []string{"admin:users"}}
	reg := register(mgmt, client.Confidential, hash)
	for name, g := range map[string]client.Grantor{"nobody": {}, "admin:write": writer} {
		reg.Grantor = g
		if _, err := reg.Decide([][]domain.Event{nil, {env}}, now); !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("%s gave admin:users: %v", name, err)
		}
	}
	reg.Grantor = client.Grantor{Holds: oauth.NewScopes("admin:users")}
	if _, err := reg.Decide([][]domain.Event{nil, {env}}, now); err != nil {
		t.Errorf("a holder of admin:users giving it: %v", err)
	}
	reg.Grantor = client.OperatorGrantor
	if _, err := reg.Decide([][]domain.Event{nil, {env}}, now); err != nil {
		t.Errorf("an operator giving admin:users: %v", err)
	}
	held := []domain.Event{client.Registered{ClientID: "client-0001", Type: client.Confidential, Settings: mgmt, SecretHash: hash}}
	stripped := mgmt
	stripped.Scopes = nil
	if _, err := (client.Update{Environment: "acme-test", ID: "client-0001", Settings: stripped, Grantor: writer}).Decide([][]domain.Event{held}, now); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("admin:write stripped an admin:users client: %v", err)
	}
	if _, err := (client.RotateSecret{Environment: "acme-test", ID: "client-0001", SecretHash: hash, Grantor: writer}).Decide([][]domain.Event{held}, now); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("admin:write rotated an admin:users client's secret: %v", err)
	}
	if _, err := (client.Update{Environment: "acme-test", ID: "client-0001", Settings: stripped, Grantor: client.OperatorGrantor}).Decide([][]domain.Event{held}, now); err != nil {
		t.Errorf("an operator changing it: %v", err)
	}
}

// An update that names the settings it read is refused once they changed, so a
// read-change-write (the CLI's clients update) never undoes a change made meanwhile.
func TestUpdateExpectingSettings(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	read := client.Settings{Name: "Web", GrantTypes: []string{"authorization_code"},
		RedirectURIs: []string{"https://app.example/cb", "https://old.example/cb"}, Scopes: []string{}}
	meanwhile := read
	meanwhile.RedirectURIs = []string{"https://app.example/cb"} // someone removed the old URI
	history := []domain.Event{
		client.Registered{ClientID: "client-0001", Type: client.Confidential, Settings: read, SecretHash: "h"},
		client.Updated{Settings: meanwhile},
	}
	renamed := read
	renamed.Name = "Web app"
	update := client.Update{Environment: "acme-test", ID: "client-0001", Settings: renamed, Grantor: client.OperatorGrantor}
	stale := update
	stale.Expected = &read
	if _, err := stale.Decide([][]domain.Event{history}, now); !errors.Is(err, client.ErrChanged) {
		t.Fatalf("an update expecting stale settings: %v, want ErrChanged", err)
	}
	current := meanwhile
	current.Scopes = nil // nil and empty lists say the same
	fresh := update
	fresh.Settings.RedirectURIs = meanwhile.RedirectURIs
	fresh.Expected = &current
	if _, err := fresh.Decide([][]domain.Event{history}, now); err != nil {
		t.Fatalf("an update expecting the current settings: %v", err)
	}
	if _, err := update.Decide([][]domain.Event{history}, now); err != nil {
		t.Fatalf("an update expecting nothing: %v", err)
	}
}
