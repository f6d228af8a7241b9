package access_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/consent"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

var (
	alice    = []domain.Event{user.Created{UserID: "u1", Email: "alice@example.com"}}
	app      = []domain.Event{client.Registered{ClientID: "c1", Type: client.Confidential}}
	live     = grant.TokenRef{JTI: "a1", Kind: token.KindAccess, ExpiresAt: now.Add(time.Hour)}
	expired  = grant.TokenRef{JTI: "a0", Kind: token.KindAccess, ExpiresAt: now.Add(-time.Hour)}
	aliceG   = []domain.Event{grant.Created{GrantID: "g1", ClientID: "c1", UserID: "u1", Tokens: []grant.TokenRef{live, expired}}}
	bobG     = []domain.Event{grant.Created{GrantID: "g2", ClientID: "c1", UserID: "u2", Tokens: []grant.TokenRef{live}}}
	aliceS   = []domain.Event{session.Started{SessionID: "s1", UserID: "u1", ExpiresAt: now.Add(time.Hour)}}
	bobS     = []domain.Event{session.Started{SessionID: "s2", UserID: "u2", ExpiresAt: now.Add(time.Hour)}}
	revokedG = append(append([]domain.Event(nil), aliceG...), grant.Revoked{Reason: "x"})
)

func types(out [][]domain.Event) [][]string {
	res := make([][]string, len(out))
	for i, evs := range out {
		for _, e := range evs {
			res[i] = append(res[i], e.EventType())
		}
	}
	return res
}

// Disabling a user revokes their sessions and grants in the same decision; someone else's
// session or grant named by mistake is left alone.
func TestEndUserDisables(t *testing.T) {
	cmd := access.EndUser{Environment: "e", UserID: "u1", SessionIDs: []string{"s1", "s2"}, GrantIDs: []string{"g1", "g2", "g3"}}
	out, err := cmd.Decide([][]domain.Event{alice, aliceS, bobS, aliceG, bobG, nil}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"user.disabled"}, {"session.revoked"}, nil, {"grant.revoked"}, nil, nil}
	if got := types(out); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if rev := out[3][0].(grant.Revoked); rev.Reason != access.ReasonUserDisabled || !reflect.DeepEqual(rev.Tokens, []grant.TokenRef{live}) {
		t.Errorf("grant revocation %+v: want the live token only", rev)
	}
	if len(cmd.Streams()) != 6 {
		t.Errorf("streams %v", cmd.Streams())
	}
	// Already disabled: a sweep revokes what is left, and nothing else.
	disabled := append(append([]domain.Event(nil), alice...), user.Disabled{})
	out, err = cmd.Decide([][]domain.Event{disabled, aliceS, bobS, revokedG, bobG, nil}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := types(out); !reflect.DeepEqual(got, [][]string{nil, {"session.revoked"}, nil, nil, nil, nil}) {
		t.Errorf("sweep %v", got)
	}
}

func TestEndUserDeletes(t *testing.T) {
	cmd := access.EndUser{Environment: "e", UserID: "u1", Delete: true, Email: "Alice@example.com", GrantIDs: []string{"g1"}}
	out, err := cmd.Decide([][]domain.Event{alice, nil, aliceG}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := types(out); !reflect.DeepEqual(got, [][]string{{"user.deleted"}, {"user.email_released"}, {"grant.revoked"}}) {
		t.Fatalf("events %v", got)
	}
	if out[2][0].(grant.Revoked).Reason != access.ReasonUserDeleted {
		t.Errorf("reason %+v", out[2][0])
	}
	wrongEmail := cmd
	wrongEmail.Email = "bob@example.com"
	if _, err := wrongEmail.Decide([][]domain.Event{alice, nil, aliceG}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("delete with another address: %v", err)
	}
	deleted := append(append([]domain.Event(nil), alice...), user.Deleted{})
	if _, err := cmd.Decide([][]domain.Event{deleted, nil, aliceG}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := (access.EndUser{UserID: "u9"}).Decide([][]domain.Event{nil}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}

// Deleting a client revokes its grants and its standalone tokens; other clients' are left.
func TestEndClient(t *testing.T) {
	tok := func(jti, cid string, exp time.Time) []domain.Event {
		return []domain.Event{token.Issued{JTI: jti, Kind: token.KindAccess, ClientID: cid, Subject: cid, ExpiresAt: exp}}
	}
	otherG := []domain.Event{grant.Created{GrantID: "g9", ClientID: "c2", UserID: "u1", Tokens: []grant.TokenRef{live}}}
	cmd := access.EndClient{Environment: "e", ClientID: "c1", GrantIDs: []string{"g1", "g9"}, TokenJTIs: []string{"t1", "t2", "t3"}}
	out, err := cmd.Decide([][]domain.Event{app, aliceG, otherG, tok("t1", "c1", now.Add(time.Hour)),
		tok("t2", "c2", now.Add(time.Hour)), tok("t3", "c1", now.Add(-time.Minute))}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"client.deleted"}, {"grant.revoked"}, nil, {"token.revoked"}, nil, nil}
	if got := types(out); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if rev := out[3][0].(token.Revoked); rev.JTI != "t1" || rev.Reason != access.ReasonClientDeleted || rev.ClientID != "c1" {
		t.Errorf("token revocation %+v", rev)
	}
	if _, err := cmd.Decide([][]domain.Event{nil, nil, nil, nil, nil, nil}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown client: %v", err)
	}
}

// Revoking a consent revokes that user's grants with that client, and only those; with the
// consent already gone its grants are still revoked.
func TestRevokeConsent(t *testing.T) {
	given := []domain.Event{consent.Granted{UserID: "u1", ClientID: "c1", Scope: "openid"}}
	cmd := access.RevokeConsent{Environment: "e", UserID: "u1", ClientID: "c1", GrantIDs: []string{"g1", "g2"}}
	out, err := cmd.Decide([][]domain.Event{given, aliceG, bobG}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := types(out); !reflect.DeepEqual(got, [][]string{{"consent.revoked"}, {"grant.revoked"}, nil}) {
		t.Fatalf("events %v", got)
	}
	out, err = cmd.Decide([][]domain.Event{nil, aliceG, bobG}, now)
	if err != nil || !reflect.DeepEqual(types(out), [][]string{nil, {"grant.revoked"}, nil}) {
		t.Fatalf("without a consent: %v %v", types(out), err)
	}
	if _, err := cmd.Decide([][]domain.Event{nil, revokedG, bobG}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("nothing to revoke: %v", err)
	}
}

func TestHonoured(t *testing.T) {
	for _, tc := range []struct {
		p    access.Parties
		want bool
	}{
		{access.Parties{ClientExists: true}, true},
		{access.Parties{}, false},
		{access.Parties{ClientExists: true, ForUser: true, User: access.User{Exists: true}}, true},
		{access.Parties{ClientExists: true, ForUser: true, User: access.User{Exists: true, Disabled: true}}, false},
		{access.Parties{ClientExists: true, ForUser: true}, false},
		{access.Parties{ForUser: true, User: access.User{Exists: true}}, false},
		// A client's own token is judged on the client alone.
		{access.Parties{ClientExists: true, User: access.User{Disabled: true}}, true},
	} {
		if got := tc.p.Honoured(); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.p, got, tc.want)
		}
	}
}

// A user's authentication stands while the user exists and is enabled, and only if it
// came after their last password change and after their last end of sign-ins: the same
// rule, at the same instants, as the grant decisions (user.FullState.AuthenticationStands).
func TestUserStands(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	enabled := access.User{Exists: true}
	for _, tc := range []struct {
		name string
		u    access.User
		at   time.Time
		want bool
	}{
		{"enabled, any sign-in", enabled, t0, true},
		{"enabled, sign-in time unknown", enabled, time.Time{}, true},
		{"unknown user", access.User{}, t0, false},
		{"disabled", access.User{Exists: true, Disabled: true}, t0, false},
		{"disabled, sign-in time unknown", access.User{Exists: true, Disabled: true}, time.Time{}, false},
		{"signed in before the password changed", access.User{Exists: true, PasswordChangedAt: t0}, t0.Add(-time.Second), false},
		{"signed in as the password changed", access.User{Exists: true, PasswordChangedAt: t0}, t0, true},
		{"signed in after the password changed", access.User{Exists: true, PasswordChangedAt: t0}, t0.Add(time.Second), true},
		{"signed in before sign-ins ended", access.User{Exists: true, SignInsEndedAt: t0}, t0.Add(-time.Second), false},
		{"signed in as sign-ins ended", access.User{Exists: true, SignInsEndedAt: t0}, t0, false},
		{"signed in after sign-ins ended", access.User{Exists: true, SignInsEndedAt: t0}, t0.Add(time.Millisecond), true},
		{"sign-in time unknown after sign-ins ended", access.User{Exists: true, SignInsEndedAt: t0}, time.Time{}, true},
	} {
		if got := tc.u.Stands(tc.at); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	p := access.Parties{ClientExists: true, ForUser: true, User: access.User{Exists: true, SignInsEndedAt: t0}, AuthTime: t0.Add(-time.Minute)}
	if p.Honoured() {
		t.Error("a token of a sign-in before the user's sign-ins ended is honoured")
	}
}

// A browser's session stands only while it is active and its user's sign-in stands.
func TestSessionStands(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		s    access.Session
		want bool
	}{
		{"active, user enabled", access.Session{Active: true, AuthTime: t0, User: access.User{Exists: true}}, true},
		{"revoked or expired", access.Session{AuthTime: t0, User: access.User{Exists: true}}, false},
		{"user disabled", access.Session{Active: true, AuthTime: t0, User: access.User{Exists: true, Disabled: true}}, false},
		{"user deleted", access.Session{Active: true, AuthTime: t0}, false},
		{"factors reset after it started", access.Session{Active: true, AuthTime: t0, User: access.User{Exists: true, SignInsEndedAt: t0.Add(time.Second)}}, false},
		{"started after a factor reset", access.Session{Active: true, AuthTime: t0.Add(2 * time.Second), User: access.User{Exists: true, SignInsEndedAt: t0.Add(time.Second)}}, true},
		{"password changed after it started", access.Session{Active: true, AuthTime: t0, User: access.User{Exists: true, PasswordChangedAt: t0.Add(time.Second)}}, false},
	} {
		if got := tc.s.Stands(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Deleting a client that holds a Management API scope needs a caller that holds it too.
func TestEndClientNeedsTheClientsScopes(t *testing.T) {
	admin := []domain.Event{client.Registered{ClientID: "c1", Type: client.Confidential,
		Settings: client.Settings{Name: "Automation", GrantTypes: []string{"client_credentials"}, Scopes: []string{"admin:users"}}}}
	cmd := access.EndClient{Environment: "e", ClientID: "c1", Grantor: client.Grantor{Holds: oauth.NewScopes("admin:write")}}
	if _, err := cmd.Decide([][]domain.Event{admin}, now); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("admin:write deleted an admin:users client: %v", err)
	}
	cmd.Grantor = client.OperatorGrantor
	if _, err := cmd.Decide([][]domain.Event{admin}, now); err != nil {
		t.Errorf("an operator deleting it: %v", err)
	}
}
