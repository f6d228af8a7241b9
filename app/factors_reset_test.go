package app_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/internal/secret"
)

// An operator resets factors when a phone or laptop is lost or stolen: whoever holds it may
// have signed in with it, so the reset ends the user's sessions and grants with it, for one
// factor as for all. The user's own removal, from a session that proved a second factor,
// leaves their sessions alone.
func TestFactorResetEndsAccess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reset func(h *apptest.Harness, userID, factorID string) error
		ends  bool
	}{
		{"all factors by an operator", func(h *apptest.Harness, userID, _ string) error {
			got, err := h.App.ResetFactors(t.Context(), app.ResetFactors{Environment: env, UserID: userID}, apptest.Operator)
			if err == nil && (got.Ended.Sessions != 1 || got.Ended.Grants != 1) {
				t.Errorf("the reset ended %+v", got.Ended)
			}
			return err
		}, true},
		{"one factor by an operator", func(h *apptest.Harness, userID, factorID string) error {
			_, err := h.App.RemoveFactor(t.Context(), app.RemoveFactor{Environment: env, UserID: userID, FactorID: factorID,
				ByOperator: true}, apptest.Operator)
			return err
		}, true},
		{"the user's own removal", func(h *apptest.Harness, userID, factorID string) error {
			_, err := h.App.RemoveFactor(t.Context(), app.RemoveFactor{Environment: env, UserID: userID, FactorID: factorID,
				MultiFactor: true}, domain.Actor{Kind: domain.ActorUser, ID: userID})
			return err
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			userID, _, in := userWithGrant(t, h)
			enrolled(t, h, userID)
			f, err := h.App.Factors(t.Context(), env, userID)
			if err != nil || len(f.List) != 1 {
				t.Fatalf("factors %+v %v", f, err)
			}
			if err := tc.reset(h, userID, f.List[0].ID); err != nil {
				t.Fatal(err)
			}
			if f, _ := h.App.Factors(t.Context(), env, userID); len(f.List) != 0 {
				t.Errorf("the factor is still there: %+v", f)
			}
			for _, jti := range []string{in.AccessJTI, in.RefreshJTI} {
				if h.Tokens.IsRevoked(env, jti) != tc.ends {
					t.Errorf("token %s revoked: %v, want %v", jti, !tc.ends, tc.ends)
				}
			}
			if s, _ := h.Sessions.ByID(env, in.SessionID); s.Revoked != tc.ends {
				t.Errorf("session revoked: %v, want %v", s.Revoked, tc.ends)
			}
			if grants, _ := h.Tokens.Held(env, userID, "", time.Now()); (len(grants) == 0) != tc.ends {
				t.Errorf("still held: %v", grants)
			}
		})
	}
}

// A code issued from a sign-in before an operator's reset is not redeemed after it, whatever
// the sweep saw: whoever held the lost device may have obtained it. The grant decisions read
// the reset from the user's stream, as they read a password change.
func TestFactorResetEndsCodesIssuedBefore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reset func(h *apptest.Harness, userID, factorID string) error
	}{
		{"all factors", func(h *apptest.Harness, userID, _ string) error {
			_, err := h.App.ResetFactors(t.Context(), app.ResetFactors{Environment: env, UserID: userID}, apptest.Operator)
			return err
		}},
		{"one factor", func(h *apptest.Harness, userID, factorID string) error {
			_, err := h.App.RemoveFactor(t.Context(), app.RemoveFactor{Environment: env, UserID: userID, FactorID: factorID,
				ByOperator: true}, apptest.Operator)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			userID, cl, in := userWithGrant(t, h)
			enrolled(t, h, userID)
			f, err := h.App.Factors(t.Context(), env, userID)
			if err != nil || len(f.List) != 1 {
				t.Fatalf("factors %+v %v", f, err)
			}
			codeHash := secret.Hash(secret.Token())
			h.Run(t, authcode.Issue{Environment: env, Code: authcode.Issued{CodeHash: codeHash, ClientID: cl.ClientID, UserID: userID,
				RedirectURI: "https://app.example/cb", Scope: "openid", SessionID: in.SessionID, AuthTime: time.Now(),
				AMR: []string{"pwd", "otp", "mfa"}}})
			if err := tc.reset(h, userID, f.List[0].ID); err != nil {
				t.Fatal(err)
			}
			th := secret.Hash(secret.Token())
			access := token.Issued{JTI: token.HashJTI(th), Kind: token.KindAccess, Format: token.FormatOpaque, TokenHash: th,
				ClientID: cl.ClientID, Subject: userID, SubjectKind: token.SubjectUser, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
			if _, err := h.Loop.Execute(t.Context(), grant.Redeem{Environment: env, CodeHash: codeHash, Access: access}, apptest.System); !errors.Is(err, grant.ErrPartyEnded) {
				t.Errorf("a code from before the reset was redeemed: %v", err)
			}
		})
	}
}
