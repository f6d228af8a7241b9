package app_test

import (
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/tokens"
)

// The user's end of sign-ins (or a password change) whose revocation has not arrived must
// end a token of an earlier sign-in whatever its format, and whether this instance's tokens
// model holds it or it is read through from the log: LookupToken judges every user token by
// its auth_time. JWT access tokens (the default format) and tokens read through the log
// lost their auth_time on the way and were judged on the user alone.
func TestEveryTokenIsJudgedByItsAuthTime(t *testing.T) {
	rig := newFlowEnv(t)
	for _, tc := range []struct {
		name   string
		format environment.TokenFormat
		// lagging: the token is looked up on an instance whose tokens model has not applied
		// its issuance (read through the log).
		lagging bool
	}{
		{"jwt", environment.TokenJWT, false},
		{"jwt, not projected here", environment.TokenJWT, true},
		{"opaque", environment.TokenOpaque, false},
		{"opaque, read through the log", environment.TokenOpaque, true},
		{"refresh, read through the log", "", true},
	} {
		for _, end := range []struct {
			name string
			ev   func() domain.Event
		}{
			{"sign-ins ended", func() domain.Event {
				return user.SignInsEnded{Reason: "factors_reset", At: time.Now().Add(time.Second)}
			}},
			{"password changed", func() domain.Event {
				return user.PasswordChanged{PasswordHash: "sealed:v1:x", At: time.Now().Add(2 * time.Second).Truncate(time.Second)}
			}},
		} {
			t.Run(tc.name+"/"+end.name, func(t *testing.T) {
				format := tc.format
				if format == "" {
					format = environment.TokenOpaque
				}
				r := rig.parties(t, format)
				resp := r.tokens(t, "openid offline_access read")
				value := resp.AccessToken
				if tc.name == "refresh, read through the log" {
					value = resp.RefreshToken
				}
				a := r.h.App
				if tc.lagging {
					a = app.New(app.Options{Loop: r.h.Loop, MasterKey: apptest.MasterKey, Registry: r.h.Registry,
						Hasher: secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}}),
						ReadModels: app.ReadModels{Head: r.h.Store, Catalog: r.h.Catalog, CatalogReady: r.h.Store, Tokens: tokens.New(),
							TokensReady: r.h.Store, Sessions: r.h.Sessions, SessionsReady: r.h.Store, Keys: r.h.Keys, KeysReady: r.h.Store}})
				}
				if tok, err := a.LookupToken(t.Context(), r.t, value); err != nil || tok.Revoked {
					t.Fatalf("before: %+v %v", tok, err)
				}
				record(t, r.h, user.Stream(env, r.userID), end.ev())
				tok, err := a.LookupToken(t.Context(), r.t, value)
				if err != nil {
					t.Fatal(err)
				}
				if !tok.Revoked {
					t.Errorf("a %s token of a sign-in before the user's %s is honoured (auth_time %v)", tc.name, end.name, tok.AuthTime)
				}
			})
		}
	}
}

// A refresh on an instance whose tokens model has not applied the refresh token's issuance
// (read through the log) keeps how and when the user signed in: before, the new tokens had
// no auth_time, acr or amr (a second factor's acr lost, and the tokens judged on the user
// alone for the rest of their life).
func TestARefreshReadThroughTheLogKeepsTheSignIn(t *testing.T) {
	r := newFlowEnv(t).parties(t, environment.TokenOpaque)
	first := r.tokens(t, "openid offline_access read")
	lagging := app.New(app.Options{Loop: r.h.Loop, MasterKey: apptest.MasterKey, Registry: r.h.Registry,
		Hasher: secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}}),
		ReadModels: app.ReadModels{Head: r.h.Store, Catalog: r.h.Catalog, CatalogReady: r.h.Store, Tokens: tokens.New(),
			TokensReady: r.h.Store, Sessions: r.h.Sessions, SessionsReady: r.h.Store, Keys: r.h.Keys, KeysReady: r.h.Store}})
	next, oe := lagging.Refresh(t.Context(), app.RefreshRequest{TokenRequest: r.req(r.web), RefreshToken: first.RefreshToken})
	if oe != nil {
		t.Fatal(oe)
	}
	was, err := r.h.App.LookupToken(t.Context(), r.t, first.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{next.AccessToken, next.RefreshToken} {
		tok, err := r.h.App.LookupToken(t.Context(), r.t, v)
		if err != nil {
			t.Fatal(err)
		}
		if tok.AuthTime == nil || !tok.AuthTime.Equal(*was.AuthTime) || tok.ACR != was.ACR {
			t.Errorf("a refreshed %s token: auth_time %v acr %q, want %v %q", tok.Kind, tok.AuthTime, tok.ACR, *was.AuthTime, was.ACR)
		}
	}
}
