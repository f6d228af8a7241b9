package resourceserver

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A token whose user signed in with a password alone, or too long ago, is refused with the
// RFC 9470 challenge naming what the resource needs.
func TestStepUpChallenge(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	pwd := &Claims{ACR: ACRPassword, AuthTime: now.Add(-time.Minute)}
	mfa := &Claims{ACR: ACRMultiFactor, AuthTime: now.Add(-time.Hour)}
	if err := CheckAuthentication(mfa, []string{ACRMultiFactor}, 0, now); err != nil {
		t.Errorf("mfa for mfa: %v", err)
	}
	err := CheckAuthentication(pwd, []string{ACRMultiFactor}, 0, now)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInsufficientUserAuthentication || e.Status != http.StatusUnauthorized || e.MaxAge != -1 {
		t.Fatalf("pwd for mfa: %v", err)
	}
	if err := CheckAuthentication(mfa, nil, 10*time.Minute, now); err == nil {
		t.Error("an hour-old sign-in for a 10-minute max_age")
	}
	if err := CheckAuthentication(&Claims{}, nil, 10*time.Minute, now); err == nil {
		t.Error("no auth_time (client credentials) for a max_age")
	}

	v := &Verifier{realm: "docs", log: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}
	h := v.RequireAuthentication([]string{ACRMultiFactor}, 5*time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, tc := range []struct {
		claims *Claims
		status int
		header string
	}{
		{&Claims{ACR: ACRMultiFactor, AuthTime: now.Add(-time.Minute)}, http.StatusNoContent, ""},
		{pwd, http.StatusUnauthorized, `Bearer realm="docs", error="insufficient_user_authentication", error_description="a stronger or more recent authentication is required", acr_values="urn:paylent:acr:mfa", max_age="300"`},
		{nil, http.StatusUnauthorized, `Bearer realm="docs"`},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.claims != nil {
			r = r.WithContext(ContextWithClaims(r.Context(), tc.claims))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status || w.Header().Get("WWW-Authenticate") != tc.header {
			t.Errorf("%+v: %d %q", tc.claims, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
}
