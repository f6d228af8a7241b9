package app_test

import (
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/tokens"
)

// A user whose factors an operator reset signs in again in the reset's second: the session
// stands (sessions are timed to the microsecond), and so must the JWT access token it gets,
// also on an instance whose tokens model has not applied the token yet. There the token was
// judged by its signed auth_time claim, in whole seconds: the sign-in half a second after
// the reset read as before it, and the token was refused (attack review of 5514811).
func TestAJWTOfASignInInTheResetsSecondIsHonouredBeforeItIsProjected(t *testing.T) {
	r := newFlowEnv(t).parties(t, environment.TokenJWT)
	// Start early in a second, so that the reset and the sign-in share it.
	if frac := time.Duration(time.Now().Nanosecond()); frac > 200*time.Millisecond {
		time.Sleep(time.Second - frac + 10*time.Millisecond)
	}
	record(t, r.h, user.Stream(env, r.userID), user.SignInsEnded{Reason: "factors_reset", At: time.Now().UTC().Truncate(time.Microsecond)})
	time.Sleep(5 * time.Millisecond)
	resp := r.tokens(t, "openid read")
	if time.Now().Nanosecond() < int(5*time.Millisecond) {
		t.Skip("the sign-in crossed into the next second")
	}
	lagging := app.New(app.Options{Loop: r.h.Loop, MasterKey: apptest.MasterKey, Registry: r.h.Registry,
		Hasher: secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}}),
		ReadModels: app.ReadModels{Head: r.h.Store, Catalog: r.h.Catalog, CatalogReady: r.h.Store, Tokens: tokens.New(),
			TokensReady: r.h.Store, Sessions: r.h.Sessions, SessionsReady: r.h.Store, Keys: r.h.Keys, KeysReady: r.h.Store}})
	for name, a := range map[string]*app.App{"projected": r.h.App, "not projected here": lagging} {
		tok, err := a.LookupToken(t.Context(), r.t, resp.AccessToken)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tok.Revoked {
			t.Errorf("%s: the access token of a sign-in after the reset is refused (auth_time %v)", name, tok.AuthTime)
		}
	}
}
