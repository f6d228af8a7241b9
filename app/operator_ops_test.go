package app_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
)

func ptr(s string) *string { return &s }

func TestUpdateScope(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	const docs = "https://api.example.com"
	if _, err := h.App.CreateAPI(ctx, app.CreateAPI{Environment: env, Identifier: docs, Name: "Docs"}, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.CreateScope(ctx, app.CreateScope{Environment: env, Name: "read:documents", Description: "Read"}, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		req      app.UpdateScope
		want     error
		wrote    bool
		desc, to string
	}{
		{"move it to an API", app.UpdateScope{Name: "read:documents", API: ptr(docs)}, nil, true, "Read", docs},
		{"describe it", app.UpdateScope{Name: "read:documents", Description: ptr("Read every document")}, nil, true, "Read every document", docs},
		{"the same again", app.UpdateScope{Name: "read:documents", Description: ptr("Read every document")}, nil, false, "Read every document", docs},
		{"an API the environment lacks", app.UpdateScope{Name: "read:documents", API: ptr("https://nope.example.com")}, domain.ErrInvalid, false, "Read every document", docs},
		{"out of its API", app.UpdateScope{Name: "read:documents", API: ptr("")}, nil, true, "Read every document", ""},
		{"a standard scope", app.UpdateScope{Name: "openid", Description: ptr("x")}, domain.ErrInvalid, false, "Read every document", ""},
		{"an unknown scope", app.UpdateScope{Name: "write:documents", Description: ptr("x")}, domain.ErrNotFound, false, "Read every document", ""},
	}
	for _, s := range steps {
		s.req.Environment = env
		w, err := h.App.UpdateScope(ctx, s.req, apptest.Operator)
		if !errors.Is(err, s.want) || (w.Position != 0) != s.wrote {
			t.Errorf("%s: %+v %v, want %v (wrote %v)", s.name, w, err, s.want, s.wrote)
		}
		if got, _ := h.Catalog.Scope(env, "read:documents"); got.Description != s.desc || got.API != s.to {
			t.Errorf("%s: the catalog shows %+v", s.name, got)
		}
	}
	// Another environment's scope of the same name is unknown here.
	h.Environment(t, "other", "other-dev")
	if _, err := h.App.UpdateScope(ctx, app.UpdateScope{Environment: "other-dev", Name: "read:documents", Description: ptr("x")},
		apptest.Operator); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a scope of another environment: %v", err)
	}
}

// An operator's reset sets the password under the policy and ends every session and grant
// of the user; the old password no longer signs in.
func TestResetPassword(t *testing.T) {
	cases := []struct {
		name     string
		req      func(userID string) app.ResetPassword
		actor    domain.Actor
		want     error
		newPW    string // "" with no error: a generated one
		disabled bool
	}{
		{"by address", func(string) app.ResetPassword {
			return app.ResetPassword{Environment: env, Email: "ADA@example.com", Password: "a brand new passphrase"}
		}, apptest.Operator, nil, "a brand new passphrase", false},
		{"by id, generated", func(id string) app.ResetPassword { return app.ResetPassword{Environment: env, UserID: id} },
			apptest.Operator, nil, "", false},
		{"a weak password", func(string) app.ResetPassword {
			return app.ResetPassword{Environment: env, Email: "ada@example.com", Password: "password123"}
		}, apptest.Operator, domain.ErrInvalid, "", false},
		{"another environment's user by address", func(string) app.ResetPassword {
			return app.ResetPassword{Environment: "other-dev", Email: "ada@example.com", Password: "a brand new passphrase"}
		}, apptest.Operator, domain.ErrNotFound, "", false},
		{"another environment's user by id", func(id string) app.ResetPassword {
			return app.ResetPassword{Environment: "other-dev", UserID: id, Password: "a brand new passphrase"}
		}, apptest.Operator, domain.ErrNotFound, "", false},
		{"a user resetting", func(id string) app.ResetPassword {
			return app.ResetPassword{Environment: env, UserID: id, Password: "a brand new passphrase"}
		}, domain.Actor{Kind: domain.ActorUser, ID: "ada"}, domain.ErrForbidden, "", false},
		{"a disabled user", func(id string) app.ResetPassword {
			return app.ResetPassword{Environment: env, UserID: id, Password: "a brand new passphrase"}
		}, apptest.Operator, access.ErrUserEnded, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.Environment(t, "other", "other-dev")
			userID, _, in := userWithGrant(t, h)
			if tc.disabled {
				if _, err := h.App.DisableUser(t.Context(), app.UserRef{Environment: env, UserID: userID}, apptest.Operator); err != nil {
					t.Fatal(err)
				}
			}
			got, err := h.App.ResetPassword(t.Context(), tc.req(userID), tc.actor)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err != nil {
				if !tc.disabled && h.Tokens.IsRevoked(env, in.RefreshJTI) {
					t.Error("a refused reset revoked the refresh token")
				}
				if got != (app.PasswordReset{}) {
					t.Errorf("a refused reset answered %+v", got)
				}
				return
			}
			checkReset(t, h, got, userID, in, tc.newPW)
		})
	}
}

func checkReset(t *testing.T, h *apptest.Harness, got app.PasswordReset, userID string, in apptest.SignedIn, newPW string) {
	t.Helper()
	if newPW == "" {
		newPW = got.Generated
		if len(newPW) < 16 {
			t.Fatalf("generated %q", newPW)
		}
	} else if got.Generated != "" {
		t.Errorf("generated %q although a password was given", got.Generated)
	}
	if got.UserID != userID || got.Email != "ada@example.com" || got.Sessions != 1 || got.Grants != 1 || got.Position == 0 {
		t.Errorf("reset %+v", got)
	}
	for _, jti := range []string{in.AccessJTI, in.RefreshJTI} {
		if !h.Tokens.IsRevoked(env, jti) {
			t.Errorf("token %s is still active", jti)
		}
	}
	if s, _ := h.Sessions.ByID(env, in.SessionID); !s.Revoked {
		t.Error("the session is still active")
	}
	if grants, _ := h.Tokens.Held(env, userID, "", time.Now()); len(grants) != 0 {
		t.Errorf("still held: %v", grants)
	}
	if _, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com",
		Password: "a long and unusual phrase", Browser: someone}); !errors.Is(err, app.ErrSignInFailed) {
		t.Errorf("the old password: %v", err)
	}
	if u, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com",
		Password: newPW, Browser: someone}); err != nil || u.ID != userID {
		t.Errorf("the new password: %+v %v", u, err)
	}
}
