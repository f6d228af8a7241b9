package app_test

import (
	"strings"
	"testing"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/user"
)

// Sign-up creates the user with a sealed hash, as every other face does, and the password
// signs in.
func TestRegistrationCreatesTheUser(t *testing.T) {
	h := newHarness(t)
	b := app.Browser{IP: "192.0.2.8", UserAgent: "test"}
	id, err := h.App.StartRegistration(t.Context(), env, "new@example.com", b)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.App.VerifyRegistration(t.Context(), env, id, registration.Passcode(registration.Key(apptest.MasterKey), env, id), b)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := h.App.CompleteRegistration(t.Context(), app.CompleteRegistration{Environment: env, Token: tok, Email: "new@example.com",
		Name: "New", Password: "a long enough secret", Browser: b})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := h.Catalog.User(env, reg.UserID); !strings.HasPrefix(u.PasswordHash, user.SealedPrefix) {
		t.Errorf("the hash is not sealed: %.12s…", u.PasswordHash)
	}
	if _, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "new@example.com", Password: "a long enough secret",
		Browser: b}); err != nil {
		t.Errorf("sign-in: %v", err)
	}
}
