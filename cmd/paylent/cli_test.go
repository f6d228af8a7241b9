package main_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/internal/pgtest"
)

// cliIn is cli with standard input.
func cliIn(t *testing.T, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return cliWith(env, stdin, args...)
}

func TestCLIUsageErrors(t *testing.T) {
	t.Parallel()
	env := []string{"PAYLENT_DATA_DIR=" + dataDir(t)}
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "Usage: paylent COMMAND", ""},
		{[]string{"help"}, 0, "paylent serve", ""},
		{[]string{"bogus"}, 2, "", `paylent: unknown command "bogus" for "paylent"`},
		{[]string{"clients"}, 2, "", "paylent clients: missing subcommand"},
		{[]string{"clients", "bogus"}, 2, "", `unknown command "bogus" for "paylent clients"`},
		{[]string{"clients", "create", "--name", "x", "--type", "public", "--grant", "authorization_code"}, 2, "",
			`paylent clients create: required flag(s) "env" not set`},
		{[]string{"clients", "create", "--env", "e"}, 2, "", `required flag(s) "grant", "name", "type" not set`},
		{[]string{"clients", "get", "--env", "e"}, 2, "", `paylent clients get: required flag(s) "id" not set`},
		{[]string{"env", "create"}, 2, "", `paylent env create: required flag(s) "account", "slug" not set`},
		{[]string{"verify"}, 2, "", `paylent verify: required flag(s) "env" not set`},
		{[]string{"scopes", "update", "--env", "e", "--name", "n"}, 2, "", "[description api]"},
		{[]string{"users", "get", "--env", "e", "--id", "u", "--email", "m"}, 2, "", "[id email]"},
		{[]string{"users", "reset-password", "--env", "e", "--email", "m"}, 2, "", "[password-stdin generate]"},
		{[]string{"users", "list", "--env", "e", "--limit", "0"}, 2, "", "--limit must be 1 to 500"},
		{[]string{"events", "--env"}, 2, "", "flag needs an argument: --env"},
		{[]string{"keys", "list", "--env", "e", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"completion", "bash"}, 0, "# bash completion V2 for paylent", ""},
		{[]string{"completion", "zsh"}, 0, "#compdef paylent", ""},
		{[]string{"completion", "fish"}, 0, "complete -c paylent", ""},
		{[]string{"__complete", "clients", "create", "--type", ""}, 0, "confidential\npublic\n", ""},
		{[]string{"__complete", "clients", "update", "--grant", ""}, 0, "authorization_code\nclient_credentials\nrefresh_token\n", ""},
		{[]string{"__complete", "clients", "create", "--token-format", ""}, 0, "jwt\nopaque\n", ""},
		{[]string{"__complete", "nats", "credentials", "--role", ""}, 0, "subscriber", ""},
		{[]string{"__complete", "us"}, 0, "users\t", ""},
	}
	for _, c := range cases {
		code, out, errOut := cli(t, env, c.args...)
		if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errOut, c.stderr) {
			t.Errorf("paylent %q: exit %d, want %d with %q / %q:\n%s\n%s", c.args, code, c.code, c.stdout, c.stderr, out, errOut)
		}
	}
}

// cliJSON runs a command that must succeed and decodes its --json output.
func cliJSON(t *testing.T, env []string, v any, args ...string) {
	t.Helper()
	code, out, errOut := cli(t, env, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("paylent %q: exit %d\n%s%s", args, code, out, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("paylent %q --json: %v\n%s", args, err, out)
	}
}

// notFound runs a command that must find nothing: exit 1, the precise message.
func notFound(t *testing.T, env []string, want string, args ...string) {
	t.Helper()
	code, out, errOut := cli(t, env, args...)
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("paylent %q: exit %d, want 1 with %q\n%s%s", args, code, want, out, errOut)
	}
}

func cliDatabase(t *testing.T) []string {
	t.Helper()
	env := []string{"DATABASE_URL=" + pgtest.URL(t), "PAYLENT_MASTER_KEY=" + strings.Repeat("5a", 32), "PAYLENT_DATA_DIR=" + dataDir(t)}
	for _, slug := range []string{"acme-test", "other-env"} {
		if code, out, errOut := cli(t, env, "env", "create", "--account", strings.Split(slug, "-")[0], "--slug", slug); code != 0 {
			t.Fatalf("env create: %d %s %s", code, out, errOut)
		}
	}
	return env
}

type clientJSON struct {
	ID          string   `json:"client_id"`
	Name        string   `json:"name"`
	Scopes      []string `json:"scopes"`
	TokenFormat string   `json:"token_format"`
	GrantTypes  []string `json:"grant_types"`
}

func TestCLIClientsRoundTrip(t *testing.T) {
	t.Parallel()
	env := cliDatabase(t)
	var made struct {
		ID string `json:"client_id"`
	}
	cliJSON(t, env, &made, "clients", "create", "--env", "acme-test", "--name", "Reports", "--type", "confidential",
		"--grant", "client_credentials", "--scope", "openid")
	var list []clientJSON
	cliJSON(t, env, &list, "clients", "list", "--env", "acme-test")
	if len(list) != 1 || list[0].ID != made.ID || list[0].Name != "Reports" {
		t.Fatalf("list: %+v", list)
	}
	var got clientJSON
	cliJSON(t, env, &got, "clients", "get", "--env", "acme-test", "--id", made.ID)
	if got.Name != "Reports" || !slices.Equal(got.Scopes, []string{"openid"}) {
		t.Errorf("get: %+v", got)
	}
	cliJSON(t, env, &got, "clients", "update", "--env", "acme-test", "--id", made.ID, "--name", "Reporting", "--scope", "",
		"--token-format", "opaque")
	if got.Name != "Reporting" || len(got.Scopes) != 0 || got.TokenFormat != "opaque" || !slices.Equal(got.GrantTypes, []string{"client_credentials"}) {
		t.Errorf("update: %+v", got)
	}
	code, out, _ := cli(t, env, "clients", "get", "--env", "acme-test", "--id", made.ID)
	if code != 0 || !strings.Contains(out, "Reporting") || strings.Contains(out, "secret") {
		t.Errorf("get after update: %d %s", code, out)
	}
	notFound(t, env, `paylent clients get: no client "`+made.ID+`" in environment "other-env"`,
		"clients", "get", "--env", "other-env", "--id", made.ID)
	notFound(t, env, `paylent clients update: no client "`+made.ID+`" in environment "other-env"`,
		"clients", "update", "--env", "other-env", "--id", made.ID, "--name", "Stolen")
	notFound(t, env, `paylent clients list: environment "nope" does not exist`, "clients", "list", "--env", "nope")
	if code, out, errOut := cli(t, env, "clients", "update", "--env", "acme-test", "--id", made.ID, "--grant", "password"); code != 1 ||
		!strings.Contains(errOut, "grant") {
		t.Errorf("an unknown grant: %d %s%s", code, out, errOut)
	}
	var del map[string]any
	cliJSON(t, env, &del, "clients", "delete", "--env", "acme-test", "--id", made.ID)
	if del["client_id"] != made.ID || del["name"] != "Reporting" || del["deleted"] != true {
		t.Errorf("delete: %v", del)
	}
	notFound(t, env, `paylent clients get: no client "`+made.ID+`" in environment "acme-test"`,
		"clients", "get", "--env", "acme-test", "--id", made.ID)
	notFound(t, env, `paylent clients delete: no client "`+made.ID+`" in environment "acme-test"`,
		"clients", "delete", "--env", "acme-test", "--id", made.ID)
}

type scopeJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Standard    bool   `json:"standard"`
	API         string `json:"api"`
}

func TestCLIScopesRoundTrip(t *testing.T) {
	t.Parallel()
	env := cliDatabase(t)
	const api = "https://api.example.com"
	for _, args := range [][]string{
		{"apis", "create", "--env", "acme-test", "--identifier", api, "--name", "Documents"},
		{"scopes", "create", "--env", "acme-test", "--name", "read:documents", "--description", "Read documents"},
	} {
		if code, out, errOut := cli(t, env, args...); code != 0 {
			t.Fatalf("paylent %q: %d %s%s", args, code, out, errOut)
		}
	}
	var list []scopeJSON
	cliJSON(t, env, &list, "scopes", "list", "--env", "acme-test")
	if len(list) < 5 || !list[0].Standard || list[len(list)-1].Name != "read:documents" {
		t.Fatalf("list: %+v", list)
	}
	var got scopeJSON
	cliJSON(t, env, &got, "scopes", "update", "--env", "acme-test", "--name", "read:documents", "--api", api,
		"--description", "Read every document")
	if got.API != api || got.Description != "Read every document" {
		t.Errorf("update: %+v", got)
	}
	cliJSON(t, env, &got, "scopes", "get", "--env", "acme-test", "--name", "read:documents")
	if got.API != api || got.Description != "Read every document" || got.Standard {
		t.Errorf("get: %+v", got)
	}
	code, out, errOut := cli(t, env, "apis", "list", "--env", "acme-test")
	if code != 0 || !strings.Contains(out, "read:documents") {
		t.Errorf("the API lists its new scope: %d %s%s", code, out, errOut)
	}
	got = scopeJSON{}
	cliJSON(t, env, &got, "scopes", "update", "--env", "acme-test", "--name", "read:documents", "--api", "")
	if got.API != "" {
		t.Errorf("out of its API: %+v", got)
	}
	for _, bad := range [][]string{
		{"--name", "read:documents", "--api", "https://nope.example.com"},
		{"--name", "openid", "--description", "x"},
	} {
		if code, out, errOut := cli(t, env, append([]string{"scopes", "update", "--env", "acme-test"}, bad...)...); code != 1 || errOut == "" {
			t.Errorf("scopes update %q: %d %s%s", bad, code, out, errOut)
		}
	}
	notFound(t, env, `paylent scopes update: no scope "read:documents" in environment "other-env"`,
		"scopes", "update", "--env", "other-env", "--name", "read:documents", "--description", "x")
	var del map[string]any
	cliJSON(t, env, &del, "scopes", "delete", "--env", "acme-test", "--name", "read:documents")
	if del["name"] != "read:documents" || del["deleted"] != true {
		t.Errorf("delete: %v", del)
	}
	notFound(t, env, `paylent scopes get: no scope "read:documents" in environment "acme-test"`,
		"scopes", "get", "--env", "acme-test", "--name", "read:documents")
	notFound(t, env, `paylent scopes delete: no scope "read:documents" in environment "acme-test"`,
		"scopes", "delete", "--env", "acme-test", "--name", "read:documents")
}

type userJSON struct {
	ID       string `json:"user_id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled"`
}

func TestCLIUsersRoundTrip(t *testing.T) {
	t.Parallel()
	env := cliDatabase(t)
	for _, email := range []string{"ada@example.com", "alan@example.com", "grace@example.com"} {
		if code, out, errOut := cliIn(t, env, "correct horse battery\n", "users", "create", "--env", "acme-test", "--email", email,
			"--name", strings.Split(email, "@")[0], "--password-stdin"); code != 0 {
			t.Fatalf("users create: %d %s%s", code, out, errOut)
		}
	}
	var page struct {
		Users []userJSON `json:"users"`
		Next  string     `json:"next_cursor"`
	}
	cliJSON(t, env, &page, "users", "list", "--env", "acme-test", "--email-prefix", "A", "--limit", "1")
	if len(page.Users) != 1 || page.Users[0].Email != "ada@example.com" || page.Next != "ada@example.com" {
		t.Fatalf("first page: %+v", page)
	}
	cursor := page.Next
	page.Next = ""
	cliJSON(t, env, &page, "users", "list", "--env", "acme-test", "--email-prefix", "a", "--cursor", cursor)
	if len(page.Users) != 1 || page.Users[0].Email != "alan@example.com" || page.Next != "" {
		t.Fatalf("second page: %+v", page)
	}
	var got userJSON
	cliJSON(t, env, &got, "users", "get", "--env", "acme-test", "--email", "ALAN@example.com")
	id := got.ID
	var upd struct {
		User userJSON `json:"user"`
	}
	cliJSON(t, env, &upd, "users", "update", "--env", "acme-test", "--id", id, "--name", "Alan Turing", "--disable")
	if upd.User.Name != "Alan Turing" || !upd.User.Disabled {
		t.Errorf("update: %+v", upd)
	}
	cliJSON(t, env, &got, "users", "get", "--env", "acme-test", "--id", id)
	if got.Name != "Alan Turing" || !got.Disabled {
		t.Errorf("get after update: %+v", got)
	}
	cliJSON(t, env, &upd, "users", "update", "--env", "acme-test", "--email", "alan@example.com", "--enable")
	if upd.User.Disabled {
		t.Errorf("enable: %+v", upd)
	}
	notFound(t, env, `paylent users get: no user "`+id+`" in environment "other-env"`, "users", "get", "--env", "other-env", "--id", id)
	notFound(t, env, `paylent users delete: no user with email "alan@example.com" in environment "other-env"`,
		"users", "delete", "--env", "other-env", "--email", "alan@example.com")
	var del map[string]any
	cliJSON(t, env, &del, "users", "delete", "--env", "acme-test", "--id", id)
	if del["user_id"] != id || del["email"] != "alan@example.com" || del["deleted"] != true {
		t.Errorf("delete: %v", del)
	}
	notFound(t, env, `paylent users get: no user "`+id+`" in environment "acme-test"`, "users", "get", "--env", "acme-test", "--id", id)
	notFound(t, env, `paylent users update: no user with email "alan@example.com" in environment "acme-test"`,
		"users", "update", "--env", "acme-test", "--email", "alan@example.com", "--name", "x")
}

// An operator's password reset ends what the user held: their refresh token is refused and
// the old password no longer signs in; a weak password is refused with the policy's words,
// and nobody's password is reset through another environment.
func TestCLIResetPassword(t *testing.T) {
	t.Parallel()
	s := startOne(t)
	web := s.client(t, "acme-test", "--name", "Web", "--type", "confidential", "--grant", "authorization_code",
		"--grant", "refresh_token", "--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	userID := s.userJSON(t, "acme-test", "bob@example.com", "Bob")
	code := newCodeIssuer(t, s, time.Now).issue(t, "acme-test", authcode.Issued{ClientID: web.ID,
		RedirectURI: "https://app.example.com/cb", RedirectGiven: true, Scope: "openid", UserID: userID})
	st, tokens := s.a.post("acme-test", "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://app.example.com/cb"}}, web.ID, web.Secret)
	if st != 200 || tokens["refresh_token"] == nil {
		t.Fatalf("token: %d %v", st, tokens)
	}

	reset := func(stdin string, args ...string) (int, string, string) {
		return cliIn(t, s.cliEnv, stdin, append([]string{"users", "reset-password"}, args...)...)
	}
	if c, out, errOut := reset("password123\n", "--env", "acme-test", "--email", "bob@example.com", "--password-stdin"); c != 2 ||
		!strings.Contains(errOut, "paylent users reset-password: password: is one of the most common passwords") {
		t.Errorf("a common password: %d %s%s", c, out, errOut)
	}
	if c, out, errOut := reset("short\n", "--env", "acme-test", "--id", userID, "--password-stdin"); c != 2 ||
		!strings.Contains(errOut, "must be at least 10 characters") {
		t.Errorf("a short password: %d %s%s", c, out, errOut)
	}
	if c, out, errOut := reset("", "--env", "other-env", "--email", "bob@example.com", "--generate"); c != 1 ||
		!strings.Contains(errOut, `no user with email "bob@example.com" in environment "other-env"`) || strings.Contains(out, "password") {
		t.Errorf("another environment by address: %d %s%s", c, out, errOut)
	}
	if c, out, errOut := reset("", "--env", "other-env", "--id", userID, "--generate"); c != 1 ||
		!strings.Contains(errOut, `no user "`+userID+`" in environment "other-env"`) {
		t.Errorf("another environment by id: %d %s%s", c, out, errOut)
	}
	if st, _ := s.a.post("acme-test", "/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tokens["refresh_token"].(string)}}, web.ID, web.Secret); st != 200 {
		t.Fatalf("a refused reset ended the refresh token: %d", st)
	}

	c, out, errOut := reset("", "--env", "acme-test", "--email", "Bob@Example.com", "--generate", "--json")
	var done struct {
		UserID   string `json:"user_id"`
		Password string `json:"password"`
		Grants   int    `json:"grants_revoked"`
	}
	if c != 0 || json.Unmarshal([]byte(out), &done) != nil || done.UserID != userID || len(done.Password) < 16 || done.Grants != 1 {
		t.Fatalf("reset: %d %s%s", c, out, errOut)
	}
	if st, body := s.a.post("acme-test", "/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tokens["refresh_token"].(string)}}, web.ID, web.Secret); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the refresh token after the reset: %d %v", st, body)
	}
	if st, body := s.a.post("acme-test", "/oauth/introspect", url.Values{"token": {tokens["access_token"].(string)}}, web.ID, web.Secret); st != 200 || body["active"] != false {
		t.Errorf("the access token after the reset: %d %v", st, body)
	}
	signIn := func(password string) bool {
		issuer := s.a.issuer("acme-test")
		pc := newPageClient(t, issuer)
		_, page := pc.do("GET", issuer+"/login", nil)
		resp, page := pc.do("POST", issuer+"/login", url.Values{"_csrf": {fields(page).Get("_csrf")}, "email": {"bob@example.com"},
			"password": {password}})
		return resp.StatusCode == 200 && strings.Contains(page, "You are signed in")
	}
	if signIn("correct horse battery") {
		t.Error("the old password still signs in")
	}
	if !signIn(done.Password) {
		t.Error("the generated password does not sign in")
	}
	if c, out, errOut := reset("a chosen passphrase\n", "--env", "acme-test", "--id", userID, "--password-stdin"); c != 0 ||
		strings.Contains(out, "a chosen passphrase") || !strings.Contains(out, "reset the password of bob@example.com") {
		t.Errorf("reset from stdin: %d %s%s", c, out, errOut)
	}
	if !signIn("a chosen passphrase") {
		t.Error("the chosen password does not sign in")
	}
}
