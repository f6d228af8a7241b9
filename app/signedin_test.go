package app_test

import (
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/tenants"
)

// record appends facts straight to the log, as another instance or an older version wrote
// them, without the decisions that go with them today (here: a user's end without the
// revocation of their sessions and grants).
func record(t *testing.T, h *apptest.Harness, ref domain.StreamRef, evs ...domain.Event) {
	t.Helper()
	a := eventstore.StreamAppend{Environment: ref.Environment, Stream: ref.Stream, ExpectedVersion: eventstore.ExpectAny}
	for _, e := range evs {
		typ, ver, data, err := h.Registry.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		a.Events = append(a.Events, eventstore.NewEvent{Type: typ, SchemaVersion: ver, Data: data, OccurredAt: time.Now(),
			Actor: apptest.System})
	}
	if _, err := h.Store.Append(t.Context(), a); err != nil {
		t.Fatal(err)
	}
}

// A browser's session and a user's token stand only while the user's sign-in does: a user
// disabled, or whose password changed or sign-ins ended after the session began, is signed
// out of every page and every token at once — also where the revocation of the session and
// the grant has not arrived (a log written by a version that disabled users without it, or
// another instance's write that the sessions and tokens models have not applied yet while the
// catalog has). Every face reads the session through app.SignedIn or app.SessionOf and the
// token through app.LookupToken, so none of them can forget the rule.
func TestSignedInEndsWithTheUsersSignIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(h *apptest.Harness, userID string)
		ends bool
	}{
		{"nothing happened", func(*apptest.Harness, string) {}, false},
		{"disabled by an older version", func(h *apptest.Harness, userID string) {
			record(t, h, user.Stream(env, userID), user.Disabled{})
		}, true},
		{"sign-ins ended after it", func(h *apptest.Harness, userID string) {
			record(t, h, user.Stream(env, userID), user.SignInsEnded{Reason: "factors_reset", At: time.Now()})
		}, true},
		{"sign-ins ended before it", func(h *apptest.Harness, userID string) {
			record(t, h, user.Stream(env, userID), user.SignInsEnded{Reason: "factors_reset", At: time.Now().Add(-time.Hour)})
		}, false},
		{"password changed after it", func(h *apptest.Harness, userID string) {
			record(t, h, user.Stream(env, userID), user.PasswordChanged{PasswordHash: "x", At: time.Now().Add(2 * time.Second).Truncate(time.Second)})
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			userID, _, in := userWithGrant(t, h)
			if s, ok := h.App.SignedIn(env, in.SessionToken); !ok || s.UserID != userID {
				t.Fatalf("the session does not stand before: %+v %v", s, ok)
			}
			tc.end(h, userID)
			if s, _ := h.Sessions.ByID(env, in.SessionID); s.Revoked {
				t.Fatal("the session was revoked: this case is about a session whose revocation has not arrived")
			}
			_, ok := h.App.SignedIn(env, in.SessionToken)
			if ok == tc.ends {
				t.Errorf("SignedIn: %v, want %v", ok, !tc.ends)
			}
			if _, ok := h.App.SessionOf(env, in.SessionID, userID); ok == tc.ends {
				t.Errorf("SessionOf: %v, want %v", ok, !tc.ends)
			}
			tok, err := h.App.LookupToken(t.Context(), tenants.Tenant{Slug: env}, in.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Revoked != tc.ends {
				t.Errorf("the user's access token reads revoked %v, want %v", tok.Revoked, tc.ends)
			}
		})
	}
}

// A session is its user's: another user's id, an unknown session or a wrong cookie finds
// nothing.
func TestSessionOfIsTheUsers(t *testing.T) {
	h := newHarness(t)
	userID, _, in := userWithGrant(t, h)
	for _, tc := range []struct{ env, id, user string }{
		{env, in.SessionID, "someone-else"},
		{env, "no-such-session", userID},
		{"other-test", in.SessionID, userID},
	} {
		if _, ok := h.App.SessionOf(tc.env, tc.id, tc.user); ok {
			t.Errorf("SessionOf(%q, %q, %q) found a session", tc.env, tc.id, tc.user)
		}
	}
	for _, cookie := range []string{"", in.SessionToken + "x", in.SessionID} {
		if _, ok := h.App.SignedIn(env, cookie); ok {
			t.Errorf("SignedIn(%q) found a session", cookie)
		}
	}
	if _, ok := h.App.SignedIn("other-test", in.SessionToken); ok {
		t.Error("a session signs in to another environment")
	}
	if _, err := h.App.RevokeSession(t.Context(), app.SessionRef{Environment: env, SessionID: in.SessionID}, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.App.SignedIn(env, in.SessionToken); ok {
		t.Error("a revoked session stands")
	}
}
