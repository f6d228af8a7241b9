package app_test

import (
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
)

// A user whose factors an operator reset signs in again at once, in the same wall-clock
// second: the new session stands, and one started a moment before the reset does not.
// Sessions are timed to the microsecond, as the reset is; when they were timed to the second,
// a sign-in half a second after the reset read as at or before it, and the browser was signed
// out again at once (found by an attack review and by CI, in
// TestRequiredSecondFactorAndOperatorReset).
func TestASignInInTheResetsSecond(t *testing.T) {
	h := newHarness(t)
	pw, _ := user.NewPassword("a long and unusual phrase", "ada@example.com")
	u, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: "ada@example.com", Name: "Ada", Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	second := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	at := func(ms int) *app.App {
		clock := func() time.Time { return second.Add(time.Duration(ms) * time.Millisecond) }
		return h.AppWith(secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}}),
			func(o *app.Options) { o.Loop, o.Now = eventstore.NewLoop(h.Store, h.Registry, clock), clock })
	}
	before, err := at(100).StartSession(t.Context(), app.StartSession{Environment: env, UserID: u.UserID, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// What access.ResetFactors records, without revoking the session (as if its revocation
	// had not arrived here yet).
	record(t, h, user.Stream(env, u.UserID), user.SignInsEnded{Reason: "factors_reset",
		At: eventstore.NormalizeTime(second.Add(300 * time.Millisecond))})
	after, err := at(800).StartSession(t.Context(), app.StartSession{Environment: env, UserID: u.UserID, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := at(900)
	if _, ok := now.SignedIn(env, after.Token); !ok {
		t.Errorf("a session started half a second after the reset does not stand (auth_time %v)", after.Session.AuthTime)
	}
	if _, ok := now.SignedIn(env, before.Token); ok {
		t.Errorf("a session started before the reset, in its second, stands (auth_time %v)", before.Session.AuthTime)
	}
}
