package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// enrolAtSignIn signs the user in through an environment that requires a second factor and
// sets up an authenticator app on the way (the forced set-up after the password).
func enrolAtSignIn(t *testing.T, s *stack, authorize string) {
	t.Helper()
	issuer := s.a.issuer(s.acme)
	pc := newPageClient(t, issuer)
	resp, page := signInWithPassword(t, pc, authorize, issuer)
	key, id := manualKey.FindStringSubmatch(page), factorID.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || key == nil || id == nil {
		t.Fatalf("after the password, without a second factor: %d\n%s", resp.StatusCode, page)
	}
	f := fields(page)
	if resp, page = pc.do("POST", issuer+"/login/enrol", url.Values{"_csrf": {f.Get("_csrf")}, "flow": {f.Get("flow")},
		"factor_id": {id[1]}, "code": {totpAt(t, key[1], time.Now())}}); resp.StatusCode != http.StatusOK || !strings.Contains(page, "recovery-codes") {
		t.Fatalf("the first code: %d\n%s", resp.StatusCode, page)
	}
}

// `paylent users factors list` shows a user's authenticator (never a secret) and `remove`
// resets one factor or all of them, recorded as the operator's; a factor, a user or an
// environment that is not there is exit 1 with its name, and the flags are exclusive.
func TestCLIUserFactors(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	app := s.client(t, s.acme, "--name", "App", "--type", "confidential", "--first-party", "--grant", "authorization_code",
		"--redirect-uri", "https://app.example.com/cb", "--scope", "openid")
	userID := s.userJSON(t, s.acme, "eve-target@example.com", "Target")
	api := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:write")}
	if st, _, body := api.call("PATCH", "/settings", map[string]any{"require_second_factor": true}); st != http.StatusOK {
		t.Fatalf("settings: %d %v", st, body)
	}
	authorize := s.a.issuer(s.acme) + "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ID},
		"redirect_uri": {"https://app.example.com/cb"}, "scope": {"openid"}, "state": {"x"}}.Encode()
	list := []string{"users", "factors", "list", "--env", s.acme, "--email", "eve-target@example.com"}
	if out := s.run(t, list...); !strings.Contains(out, "has no second factor or passkey") {
		t.Errorf("no factor yet: %s", out)
	}

	enrolAtSignIn(t, s, authorize)
	var got struct {
		UserID  string `json:"user_id"`
		Factors []struct {
			ID, Kind, Status  string
			ConfirmedAt       string `json:"confirmed_at"`
			RecoveryCodesLeft *int   `json:"recovery_codes_left"`
		} `json:"factors"`
	}
	cliJSON(t, s.cliEnv, &got, list...)
	if got.UserID != userID || len(got.Factors) != 1 || got.Factors[0].Kind != "totp" || got.Factors[0].Status != "active" ||
		got.Factors[0].ConfirmedAt == "" || got.Factors[0].RecoveryCodesLeft == nil || *got.Factors[0].RecoveryCodesLeft != 10 {
		t.Fatalf("factors: %+v", got)
	}
	totpID := got.Factors[0].ID
	if out := s.run(t, list...); !strings.Contains(out, totpID) || !strings.Contains(out, "RECOVERY_CODES_LEFT") ||
		strings.Contains(strings.ToLower(out), "secret") || strings.Contains(out, "sealed:") {
		t.Errorf("the table: %s", out)
	}
	notFound(t, s.cliEnv, `paylent users factors list: no user with email "eve-target@example.com" in environment "`+s.other+`"`,
		"users", "factors", "list", "--env", s.other, "--email", "eve-target@example.com")
	notFound(t, s.cliEnv, `paylent users factors remove: no user "`+userID+`" in environment "`+s.other+`"`,
		"users", "factors", "remove", "--env", s.other, "--id", userID, "--all")
	notFound(t, s.cliEnv, `no factor "totp-unknown" of user "`+userID+`" in environment "`+s.acme+`"`,
		"users", "factors", "remove", "--env", s.acme, "--id", userID, "--factor", "totp-unknown")
	for _, args := range [][]string{
		{"--id", userID},
		{"--id", userID, "--factor", totpID, "--all"},
	} {
		if code, out, errOut := cli(t, s.cliEnv, append([]string{"users", "factors", "remove", "--env", s.acme}, args...)...); code != 2 ||
			!strings.Contains(errOut, "[factor all]") {
			t.Errorf("remove %v: %d %s%s", args, code, out, errOut)
		}
	}

	var removed struct {
		Removed []string `json:"removed"`
	}
	cliJSON(t, s.cliEnv, &removed, "users", "factors", "remove", "--env", s.acme, "--id", userID, "--factor", totpID)
	if len(removed.Removed) != 1 || removed.Removed[0] != totpID {
		t.Errorf("remove one: %+v", removed)
	}
	if out := s.run(t, list...); !strings.Contains(out, "has no second factor") {
		t.Errorf("after the removal: %s", out)
	}

	enrolAtSignIn(t, s, authorize) // required again: a new authenticator
	out := s.run(t, "users", "factors", "remove", "--env", s.acme, "--email", "EVE-target@example.com", "--all")
	if !strings.Contains(out, "removed 1 factor(s) of eve-target@example.com") {
		t.Errorf("remove all: %s", out)
	}
	notFound(t, s.cliEnv, `no second factor or passkey of user with email "eve-target@example.com" in environment "`+s.acme+`"`,
		"users", "factors", "remove", "--env", s.acme, "--email", "eve-target@example.com", "--all")
	events := s.run(t, "events", "--env", s.acme)
	if n := strings.Count(events, `"removed_by_operator"`); n != 2 || !strings.Contains(events, `paylent-cli/users-factors-remove`) {
		t.Errorf("%d operator removals in the events, or no CLI actor", n)
	}
}
