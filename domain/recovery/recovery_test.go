package recovery_test

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
)

var (
	now   = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	key   = registration.Key([]byte("a master key of thirty-two bytes"))
	id    = "recovery-id-0001"
	ada   = []domain.Event{user.Created{UserID: "u1", Email: "ada@example.com"}}
	claim = []domain.Event{user.EmailClaimed{UserID: "u1"}}
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

func plus(h []domain.Event, more ...domain.Event) []domain.Event {
	return append(append([]domain.Event(nil), h...), more...)
}

func started(existing bool) recovery.Started {
	s := recovery.Started{RecoveryID: id, Email: "ada@example.com", Existing: existing, ExpiresAt: now.Add(recovery.PasscodeLifetime)}
	if existing {
		s.UserID = "u1"
	}
	return s
}

// A known address of a user who may sign in starts a recovery that mails a code; an unknown
// one, a wrong user, a disabled or deleted user start one that looks the same to the
// requester and sends and verifies nothing.
func TestStart(t *testing.T) {
	cases := []struct {
		name   string
		userID string
		claim  []domain.Event
		user   []domain.Event
		want   recovery.Started
	}{
		{"a user who may sign in", "u1", claim, ada, started(true)},
		{"an unknown address", "", nil, nil, started(false)},
		{"a user the address does not name", "u1", []domain.Event{user.EmailClaimed{UserID: "u2"}}, ada, started(false)},
		{"a released address", "u1", plus(claim, user.EmailReleased{UserID: "u1"}), ada, started(false)},
		{"a disabled user", "u1", claim, plus(ada, user.Disabled{}), started(false)},
		{"a deleted user", "u1", claim, plus(ada, user.Deleted{}), started(false)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := recovery.Start{Environment: "e", RecoveryID: id, Email: " Ada@Example.com ", UserID: tc.userID}
			h := [][]domain.Event{nil, tc.claim}
			if tc.userID != "" {
				h = append(h, tc.user)
			}
			if len(cmd.Streams()) != len(h) || !cmd.Streams()[0].Fresh {
				t.Fatalf("streams %+v", cmd.Streams())
			}
			out, err := cmd.Decide(h, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(h) || len(out[0]) != 1 || !reflect.DeepEqual(out[0][0], tc.want) {
				t.Fatalf("events %+v, want %+v", out, tc.want)
			}
			for _, evs := range out[1:] {
				if len(evs) != 0 {
					t.Errorf("appended to a read stream: %v", evs)
				}
			}
		})
	}
	for name, cmd := range map[string]recovery.Start{
		"not an address": {Environment: "e", RecoveryID: id, Email: "ada"},
		"a short id":     {Environment: "e", RecoveryID: "short", Email: "ada@example.com"},
	} {
		if _, err := cmd.Decide([][]domain.Event{nil, nil}, now); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A code is six digits, a function of the key, the environment and the recovery, and not
// the sign-up code of the same id (the derivations are kept apart).
func TestPasscode(t *testing.T) {
	code := recovery.Passcode(key, "e", id)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(code) || code != recovery.Passcode(key, "e", id) {
		t.Errorf("code %q", code)
	}
	asSignUp, otherEnv, otherKey := 0, 0, 0
	for i := range 5 {
		rid := fmt.Sprintf("%s-%d", id, i)
		c := recovery.Passcode(key, "e", rid)
		if c == registration.Passcode(key, "e", rid) {
			asSignUp++
		}
		if c == recovery.Passcode(key, "f", rid) {
			otherEnv++
		}
		if c == recovery.Passcode(registration.Key([]byte("another master key")), "e", rid) {
			otherKey++
		}
	}
	if asSignUp == 5 || otherEnv == 5 || otherKey == 5 {
		t.Errorf("codes collide: with sign-up %d, another environment %d, another key %d of 5", asSignUp, otherEnv, otherKey)
	}
}

// The right code verifies once; a wrong one is recorded; five wrong ones, an expired
// recovery or one already verified end it; a recovery for an unknown address never
// verifies, whatever the code.
func TestVerify(t *testing.T) {
	right := recovery.Passcode(key, "e", id)
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	fails := func(n int) []domain.Event {
		h := []domain.Event{started(true)}
		for range n {
			h = append(h, recovery.PasscodeFailed{})
		}
		return h
	}
	verified := plus(fails(0), recovery.Verified{TokenHash: "t", ExpiresAt: now.Add(time.Hour)})
	cases := []struct {
		name    string
		history []domain.Event
		code    string
		at      time.Time
		want    []string
		err     error
	}{
		{"the right code", fails(0), right, now, []string{"recovery.verified"}, nil},
		{"after four wrong ones", fails(4), right, now, []string{"recovery.verified"}, nil},
		{"a wrong code", fails(0), wrong, now, []string{"recovery.passcode_failed"}, nil},
		{"after five wrong ones", fails(5), right, now, nil, recovery.ErrExpired},
		{"expired", fails(0), right, now.Add(recovery.PasscodeLifetime), nil, recovery.ErrExpired},
		{"verified already", verified, right, now, nil, recovery.ErrExpired},
		{"an unknown address", []domain.Event{started(false)}, right, now, []string{"recovery.passcode_failed"}, nil},
		{"no recovery", nil, right, now, nil, domain.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := recovery.Verify{Environment: "e", RecoveryID: id, Passcode: tc.code, Key: key, TokenHash: "h"}.
				Decide([][]domain.Event{tc.history}, tc.at)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			var got []string
			if err == nil {
				got = types(out)[0]
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
			if v, ok := firstOf[recovery.Verified](out); ok && (v.TokenHash != "h" || !v.ExpiresAt.Equal(tc.at.Add(recovery.TokenLifetime))) {
				t.Errorf("verified %+v", v)
			}
		})
	}
}

func firstOf[E domain.Event](out [][]domain.Event) (E, bool) {
	for _, evs := range out {
		for _, e := range evs {
			if e, ok := e.(E); ok {
				return e, true
			}
		}
	}
	var zero E
	return zero, false
}

// Completing sets the password of the recovery's user and, in the same append, revokes their
// sessions and grants; only with the live token of a verified recovery, once, for that user
// while they stand.
func TestComplete(t *testing.T) {
	pw, _ := user.NewPassword("a brand new passphrase", "ada@example.com")
	hash, _ := user.HashedPassword(pw, func(string) (string, error) { return "sealed:v1:opaque", nil })
	live := grant.TokenRef{JTI: "r1", Kind: token.KindRefresh, ExpiresAt: now.Add(time.Hour)}
	sess := []domain.Event{session.Started{SessionID: "s1", UserID: "u1", ExpiresAt: now.Add(time.Hour)}}
	grants := []domain.Event{grant.Created{GrantID: "g1", ClientID: "c1", UserID: "u1", Tokens: []grant.TokenRef{live}}}
	verified := []domain.Event{started(true), recovery.Verified{TokenHash: "tok-hash", ExpiresAt: now.Add(recovery.TokenLifetime)}}
	cmd := recovery.Complete{RecoveryID: id, TokenHash: "tok-hash", Change: access.ChangePassword{Environment: "e", UserID: "u1",
		Password: hash, SessionIDs: []string{"s1"}, GrantIDs: []string{"g1"}}}
	if got := len(cmd.Streams()); got != 4 || cmd.Streams()[0] != recovery.Stream("e", id) {
		t.Fatalf("streams %+v", cmd.Streams())
	}
	out, err := cmd.Decide([][]domain.Event{verified, ada, sess, grants}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"recovery.completed"}, {"user.password_changed"}, {"session.revoked"}, {"grant.revoked"}}
	if got := types(out); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if c := out[0][0].(recovery.Completed); c.UserID != "u1" {
		t.Errorf("completed %+v", c)
	}

	otherUser := cmd
	otherUser.Change.UserID = "u2"
	wrongToken := cmd
	wrongToken.TokenHash = "other"
	unknown := []domain.Event{started(false), recovery.Verified{TokenHash: "tok-hash", ExpiresAt: now.Add(time.Hour)}}
	for _, tc := range []struct {
		name string
		cmd  recovery.Complete
		h    []domain.Event
		user []domain.Event
		at   time.Time
		want error
	}{
		{"a wrong token", wrongToken, verified, ada, now, recovery.ErrBadToken},
		{"not verified", cmd, []domain.Event{started(true)}, ada, now, recovery.ErrBadToken},
		{"the token expired", cmd, verified, ada, now.Add(recovery.TokenLifetime), recovery.ErrBadToken},
		{"completed already", cmd, plus(verified, recovery.Completed{UserID: "u1"}), ada, now, recovery.ErrBadToken},
		{"another user", otherUser, verified, ada, now, recovery.ErrBadToken},
		{"an unknown address", cmd, unknown, ada, now, recovery.ErrBadToken},
		{"the user was disabled since", cmd, verified, plus(ada, user.Disabled{}), now, access.ErrUserEnded},
		{"the user was deleted since", cmd, verified, plus(ada, user.Deleted{}), now, access.ErrUserEnded},
		{"no recovery", cmd, nil, ada, now, recovery.ErrBadToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.cmd.Decide([][]domain.Event{tc.h, tc.user, sess, grants}, tc.at); !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}
