package app_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
)

var someone = app.Browser{IP: "192.0.2.7", UserAgent: "test"}

// recoveryToken runs the first two steps for an address with the mailed code.
func recoveryToken(t *testing.T, h *apptest.Harness, email string) (string, string) {
	t.Helper()
	id, err := h.App.StartRecovery(t.Context(), env, email, someone)
	if err != nil {
		t.Fatal(err)
	}
	code := recovery.Passcode(registration.Key(apptest.MasterKey), env, id)
	tok, err := h.App.VerifyRecovery(t.Context(), env, id, code, someone)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return tok, code
}

// Completing a recovery sets the new password and revokes every session and grant the user
// held (with their tokens); the old password no longer signs in, the new one does.
func TestCompleteRecoveryEndsWhatTheUserHeld(t *testing.T) {
	h := newHarness(t)
	userID, _, in := userWithGrant(t, h)
	tok, code := recoveryToken(t, h, "Ada@Example.com")

	if _, err := h.App.CompleteRecovery(t.Context(), app.CompleteRecovery{Environment: env, Token: tok, Password: "password123",
		Browser: someone}); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("a common password: %v", err)
	}
	if s, _ := h.Sessions.ByID(env, in.SessionID); s.Revoked {
		t.Fatal("a refused password ended the session")
	}
	got, err := h.App.CompleteRecovery(t.Context(), app.CompleteRecovery{Environment: env, Token: tok,
		Password: "a brand new passphrase", Browser: someone})
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != userID || got.Email != "ada@example.com" || got.Sessions != 1 || got.Grants != 1 || got.Position == 0 {
		t.Errorf("recovered %+v", got)
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
		Password: "a brand new passphrase", Browser: someone}); err != nil || u.ID != userID {
		t.Errorf("the new password: %+v %v", u, err)
	}
	if _, err := h.App.CompleteRecovery(t.Context(), app.CompleteRecovery{Environment: env, Token: tok,
		Password: "another new passphrase", Browser: someone}); !errors.Is(err, recovery.ErrBadToken) {
		t.Errorf("a token used twice: %v", err)
	}

	// Neither the code nor a password reached an event.
	all, err := h.Store.ReadAll(t.Context(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		for _, s := range []string{code, "a brand new passphrase", "password123", tok} {
			if strings.Contains(string(e.Data), s) {
				t.Errorf("%s holds a secret: %s", e.Type, e.Data)
			}
		}
	}
}

// A code issued from a sign-in before the change is not redeemed after it (whatever the
// sweep saw): the grant decisions read the change.
func TestRecoveryEndsCodesIssuedBefore(t *testing.T) {
	h := newHarness(t)
	userID, cl, in := userWithGrant(t, h)
	codeHash := secret.Hash(secret.Token())
	h.Run(t, authcode.Issue{Environment: env, Code: authcode.Issued{CodeHash: codeHash, ClientID: cl.ClientID, UserID: userID,
		RedirectURI: "https://app.example/cb", Scope: "openid", SessionID: in.SessionID, AuthTime: time.Now().Add(-2 * time.Second)}})
	tok, _ := recoveryToken(t, h, "ada@example.com")
	if _, err := h.App.CompleteRecovery(t.Context(), app.CompleteRecovery{Environment: env, Token: tok,
		Password: "a brand new passphrase", Browser: someone}); err != nil {
		t.Fatal(err)
	}
	th := secret.Hash(secret.Token())
	access := token.Issued{JTI: token.HashJTI(th), Kind: token.KindAccess, Format: token.FormatOpaque, TokenHash: th,
		ClientID: cl.ClientID, Subject: userID, SubjectKind: token.SubjectUser, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if _, err := h.Loop.Execute(t.Context(), grant.Redeem{Environment: env, CodeHash: codeHash, Access: access}, apptest.System); !errors.Is(err, grant.ErrPartyEnded) {
		t.Errorf("a code from before the change was redeemed: %v", err)
	}
}

// An unknown address, and a disabled user's, get the same answer and a recovery that never
// verifies; wrong codes are limited per recovery.
func TestRecoveryRefuses(t *testing.T) {
	h := newHarness(t)
	userID, _, _ := userWithGrant(t, h)
	key := registration.Key(apptest.MasterKey)
	t.Run("an unknown address", func(t *testing.T) {
		id, err := h.App.StartRecovery(t.Context(), env, "nobody@example.com", someone)
		if err != nil || id == "" {
			t.Fatalf("start: %q %v", id, err)
		}
		if _, err := h.App.VerifyRecovery(t.Context(), env, id, recovery.Passcode(key, env, id), someone); !errors.Is(err, recovery.ErrWrongCode) {
			t.Errorf("verify: %v", err)
		}
	})
	t.Run("five wrong codes", func(t *testing.T) {
		id, _ := h.App.StartRecovery(t.Context(), env, "ada@example.com", someone)
		right := recovery.Passcode(key, env, id)
		wrong := "000000"
		if right == wrong {
			wrong = "111111"
		}
		for range recovery.MaxAttempts {
			if _, err := h.App.VerifyRecovery(t.Context(), env, id, wrong, someone); !errors.Is(err, recovery.ErrWrongCode) {
				t.Fatalf("a wrong code: %v", err)
			}
		}
		if _, err := h.App.VerifyRecovery(t.Context(), env, id, right, someone); !errors.Is(err, recovery.ErrExpired) {
			t.Errorf("the right code after five wrong ones: %v", err)
		}
	})
	t.Run("a bad token", func(t *testing.T) {
		for _, tok := range []string{"", "nope", "nope.nope"} {
			if _, err := h.App.CompleteRecovery(t.Context(), app.CompleteRecovery{Environment: env, Token: tok,
				Password: "a brand new passphrase", Browser: someone}); !errors.Is(err, recovery.ErrBadToken) {
				t.Errorf("%q: %v", tok, err)
			}
		}
	})
	t.Run("a disabled user", func(t *testing.T) {
		tok, _ := recoveryToken(t, h, "ada@example.com") // verified while the user stood
		if _, err := h.App.DisableUser(t.Context(), app.UserRef{Environment: env, UserID: userID}, apptest.Operator); err != nil {
			t.Fatal(err)
		}
		if _, err := h.App.CompleteRecovery(t.Context(), app.CompleteRecovery{Environment: env, Token: tok,
			Password: "a brand new passphrase", Browser: someone}); err == nil {
			t.Error("a disabled user recovered")
		}
		id, _ := h.App.StartRecovery(t.Context(), env, "ada@example.com", someone)
		if _, err := h.App.VerifyRecovery(t.Context(), env, id, recovery.Passcode(key, env, id), someone); !errors.Is(err, recovery.ErrWrongCode) {
			t.Errorf("a disabled user's recovery verified: %v", err)
		}
	})
}

// Wrong passwords lock the account for their source only: a stranger who knows the address
// cannot keep its owner out.
func TestLockoutIsPerSource(t *testing.T) {
	h := newHarness(t)
	userID, _, _ := userWithGrant(t, h)
	stranger := app.Browser{IP: "203.0.113.66", UserAgent: "guesser"}
	for range user.LockoutAfter {
		if _, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com",
			Password: "not the password", Browser: stranger}); !errors.Is(err, app.ErrSignInFailed) {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	if _, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com",
		Password: "a long and unusual phrase", Browser: stranger}); !errors.Is(err, app.ErrSignInFailed) {
		t.Errorf("the right password from the locked-out source: %v", err)
	}
	if u, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com",
		Password: "a long and unusual phrase", Browser: someone}); err != nil || u.ID != userID {
		t.Errorf("the owner from another address: %+v %v", u, err)
	}
}
