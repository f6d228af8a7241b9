package access_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/user"
)

func hashFor(t *testing.T, email string) user.PasswordHash {
	t.Helper()
	pw, err := user.NewPassword("a brand new passphrase", email)
	if err != nil {
		t.Fatal(err)
	}
	h, err := user.HashedPassword(pw, func(string) (string, error) { return "sealed:v1:opaque", nil })
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A password change sets the new hash and revokes, in the same decision, every session and
// grant of the user it is handed; someone else's, named by mistake, are left alone.
func TestChangePasswordEndsWhatTheUserHeld(t *testing.T) {
	cmd := access.ChangePassword{Environment: "e", UserID: "u1", Password: hashFor(t, "alice@example.com"),
		SessionIDs: []string{"s1", "s2"}, GrantIDs: []string{"g1", "g2", "g3"}}
	if len(cmd.Streams()) != 6 {
		t.Errorf("streams %v", cmd.Streams())
	}
	out, err := cmd.Decide([][]domain.Event{alice, aliceS, bobS, aliceG, bobG, nil}, now.Add(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"user.password_changed"}, {"session.revoked"}, nil, {"grant.revoked"}, nil, nil}
	if got := types(out); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	// To the instant of the decision, as sessions are timed: a sign-in in the change's second
	// is told apart as before or after it.
	if ch := out[0][0].(user.PasswordChanged); ch.PasswordHash != "sealed:v1:opaque" || !ch.At.Equal(now.Add(500*time.Millisecond)) {
		t.Errorf("change %+v: want the sealed hash, at the decision's instant", ch)
	}
	if s := out[1][0].(session.Revoked); s.Reason != access.ReasonPasswordChanged {
		t.Errorf("session revocation %+v", s)
	}
	if rev := out[3][0].(grant.Revoked); rev.Reason != access.ReasonPasswordChanged || !reflect.DeepEqual(rev.Tokens, []grant.TokenRef{live}) {
		t.Errorf("grant revocation %+v: want the live token only", rev)
	}
	if u := user.FoldAll(append(append([]domain.Event(nil), alice...), out[0]...)); u.PasswordHash != "sealed:v1:opaque" || !u.PasswordChangedAt.Equal(now.Add(500*time.Millisecond)) {
		t.Errorf("folded %+v", u)
	}
}

func TestChangePasswordRefuses(t *testing.T) {
	good := access.ChangePassword{Environment: "e", UserID: "u1", Password: hashFor(t, "alice@example.com")}
	disabled := append(append([]domain.Event(nil), alice...), user.Disabled{})
	deleted := append(append([]domain.Event(nil), alice...), user.Deleted{})
	other := good
	other.Password = hashFor(t, "bob@example.com")
	none := good
	none.Password = user.PasswordHash{}
	for _, tc := range []struct {
		name string
		cmd  access.ChangePassword
		user []domain.Event
		want error
	}{
		{"unknown user", good, nil, domain.ErrNotFound},
		{"disabled user", good, disabled, access.ErrUserEnded},
		{"deleted user", good, deleted, access.ErrUserEnded},
		{"a password checked against another address", other, alice, domain.ErrInvalid},
		{"no password", none, alice, domain.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.cmd.Decide([][]domain.Event{tc.user}, now); !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// The sweep after a change revokes the user's sessions authenticated at or before it, and
// neither a later one nor someone else's.
func TestRevokeSessionsBefore(t *testing.T) {
	at := func(id, userID string, auth time.Time) []domain.Event {
		return []domain.Event{session.Started{SessionID: id, UserID: userID, AuthTime: auth, ExpiresAt: now.Add(time.Hour)}}
	}
	revoked := append(at("s4", "u1", now), session.Revoked{Reason: "logout"})
	cmd := access.RevokeSessions{Environment: "e", UserID: "u1", SessionIDs: []string{"s1", "s2", "s3", "s4", "s5"}, Before: now,
		Reason: access.ReasonPasswordChanged}
	out, err := cmd.Decide([][]domain.Event{at("s1", "u1", now.Add(-time.Minute)), at("s2", "u1", now), at("s3", "u1", now.Add(time.Second)),
		revoked, at("s5", "u2", now)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := types(out); !reflect.DeepEqual(got, [][]string{{"session.revoked"}, {"session.revoked"}, nil, nil, nil}) {
		t.Errorf("events %v", got)
	}
}
