package app_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/user"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// codeAt is what the person's authenticator app shows at t.
func codeAt(t *testing.T, key string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(key, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func someUser(t *testing.T, h *apptest.Harness, email string) string {
	t.Helper()
	pw, _ := user.NewPassword("a long and unusual phrase", email)
	u, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: email, Name: "Ada", Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	return u.UserID
}

// enrolled sets up and confirms an authenticator; it returns the manual key and the codes.
func enrolled(t *testing.T, h *apptest.Harness, userID string) (string, []string) {
	t.Helper()
	req := app.EnrolTOTP{Environment: env, UserID: userID, Issuer: "Acme", Account: "ada@example.com", Browser: someone}
	e, err := h.App.EnrolTOTP(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.QR, "data:image/png;base64,") || !strings.Contains(e.URL, "secret="+e.Key) || len(e.Key) != 32 {
		t.Fatalf("enrolment %q %q", e.URL, e.QR[:30])
	}
	again, ok, err := h.App.PendingTOTP(t.Context(), req)
	if err != nil || !ok || again.Key != e.Key || again.FactorID != e.FactorID {
		t.Fatalf("the pending authenticator shown again: %v %v", ok, err)
	}
	if f, _ := h.App.Factors(t.Context(), env, userID); f.Active || len(f.List) != 1 || f.List[0].Status != app.FactorPending {
		t.Fatalf("pending: %+v", f)
	}
	if _, err := h.App.VerifySecondFactor(t.Context(), app.SecondFactorCheck{Environment: env, UserID: userID,
		Code: codeAt(t, e.Key, time.Now()), Browser: someone}); !errors.Is(err, factor.ErrNoFactor) {
		t.Fatalf("a pending authenticator signs in: %v", err)
	}
	if _, err := h.App.ConfirmTOTP(t.Context(), app.ConfirmTOTP{Environment: env, UserID: userID, FactorID: e.FactorID,
		Code: "000000", Browser: someone}); !errors.Is(err, app.ErrCodeWrong) && codeAt(t, e.Key, time.Now()) != "000000" {
		t.Fatalf("a wrong first code: %v", err)
	}
	codes, err := h.App.ConfirmTOTP(t.Context(), app.ConfirmTOTP{Environment: env, UserID: userID, FactorID: e.FactorID,
		Code: codeAt(t, e.Key, time.Now()), Browser: someone})
	if err != nil || len(codes) != factor.RecoveryCodes {
		t.Fatalf("confirm: %v %v", codes, err)
	}
	return e.Key, codes
}

// The whole life of an authenticator: set up, confirmed (its first code cannot sign in
// again), a later code signs in once, recovery codes each once, an operator's reset; and
// neither the seed nor a recovery code is in any event.
func TestAuthenticatorApp(t *testing.T) {
	h := newHarness(t)
	ada := someUser(t, h, "ada@example.com")
	key, codes := enrolled(t, h, ada)
	verify := func(code string) (string, error) {
		return h.App.VerifySecondFactor(t.Context(), app.SecondFactorCheck{Environment: env, UserID: ada, Code: code, Browser: someone})
	}
	if _, err := verify(codeAt(t, key, time.Now())); !errors.Is(err, app.ErrCodeReplayed) {
		t.Errorf("the confirming code again: %v", err)
	}
	next := codeAt(t, key, time.Now().Add(factor.Period))
	if m, err := verify(next); err != nil || m != app.MethodTOTP {
		t.Fatalf("the next code: %q %v", m, err)
	}
	if _, err := verify(next); !errors.Is(err, app.ErrCodeReplayed) {
		t.Errorf("a used code again: %v", err)
	}
	if m, err := verify(strings.ToUpper(codes[3])); err != nil || m != app.MethodRecoveryCode {
		t.Fatalf("a recovery code: %q %v", m, err)
	}
	if _, err := verify(codes[3]); !errors.Is(err, app.ErrCodeWrong) {
		t.Errorf("a recovery code twice: %v", err)
	}
	f, err := h.App.Factors(t.Context(), env, ada)
	if err != nil || !f.Active || len(f.List) != 1 || *f.List[0].RecoveryCodesLeft != 9 || f.List[0].LastUsedAt == nil {
		t.Fatalf("factors %+v %v", f, err)
	}
	if _, err := h.App.EnrolTOTP(t.Context(), app.EnrolTOTP{Environment: env, UserID: ada}); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("a second authenticator: %v", err)
	}
	if _, err := h.App.RemoveFactor(t.Context(), app.RemoveFactor{Environment: env, UserID: ada, FactorID: f.List[0].ID,
		ByOperator: true}, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	if f, _ := h.App.Factors(t.Context(), env, ada); f.Active || len(f.List) != 0 {
		t.Errorf("after the reset: %+v", f)
	}
	if _, err := verify(codes[4]); !errors.Is(err, factor.ErrNoFactor) {
		t.Errorf("a recovery code after the reset: %v", err)
	}
	all, err := h.Store.ReadAll(t.Context(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		data := strings.ToLower(string(e.Data))
		for _, s := range append([]string{key}, codes...) {
			if strings.Contains(data, strings.ToLower(s)) || strings.Contains(data, strings.ReplaceAll(s, "-", "")) {
				t.Errorf("%s holds a secret: %s", e.Type, e.Data)
			}
		}
	}
}

// Five wrong codes in a row lock the second factor, whatever the codes; the right code is
// refused while it is locked.
func TestWrongCodesLockTheSecondFactor(t *testing.T) {
	h := newHarness(t)
	ada := someUser(t, h, "ada@example.com")
	key, _ := enrolled(t, h, ada)
	for i := range user.LockoutAfter {
		wrong := []string{"123456", "not-a-code"}[i%2]
		if wrong == codeAt(t, key, time.Now()) {
			wrong = "654321"
		}
		if _, err := h.App.VerifySecondFactor(t.Context(), app.SecondFactorCheck{Environment: env, UserID: ada, Code: wrong,
			Browser: someone}); !errors.Is(err, app.ErrCodeWrong) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if _, err := h.App.VerifySecondFactor(t.Context(), app.SecondFactorCheck{Environment: env, UserID: ada,
		Code: codeAt(t, key, time.Now().Add(factor.Period)), Browser: someone}); !errors.Is(err, factor.ErrLocked) {
		t.Errorf("the right code while locked: %v", err)
	}
	if f, _ := h.App.Factors(t.Context(), env, ada); !f.LockedUntil.After(time.Now()) {
		t.Errorf("locked until %v", f.LockedUntil)
	}
}
