package app_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/session"
)

// payload decodes a JWT's claims (the flows signed it; the signature is not the point here).
func payload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}

func amrOf(m map[string]any) []string {
	var out []string
	for _, v := range m["amr"].([]any) {
		out = append(out, v.(string))
	}
	return out
}

// How the person signed in travels from the session to the code, the grant and every token
// issued from them: the ID token's amr and acr, the JWT access token's acr, amr and
// auth_time (RFC 9068 §2.2.1), and again after a refresh.
func TestTokensSayHowTheUserSignedIn(t *testing.T) {
	e := newFlowEnv(t)
	for _, tc := range []struct {
		name    string
		methods []string
		amr     []string
		acr     string
	}{
		{"a password alone", nil, []string{"pwd"}, session.ACRPassword},
		{"a password and an authenticator code", []string{"pwd", "otp"}, []string{"pwd", "otp", "mfa"}, session.ACRMultiFactor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.parties(t, environment.TokenJWT)
			s, err := r.h.App.StartSession(t.Context(), app.StartSession{Environment: env, UserID: r.userID, TTL: time.Hour,
				Browser: browserOfTest, AMR: tc.methods})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := r.h.Sessions.ByID(env, s.Session.ID); got.ACR != tc.acr || !slices.Equal(got.AMR, tc.amr) {
				t.Errorf("session %v %q", got.AMR, got.ACR)
			}
			code, err := r.h.App.IssueCode(t.Context(), app.IssueCode{Environment: env, ClientID: r.web.ID,
				RedirectURI: r.web.Settings.RedirectURIs[0], RedirectGiven: true, Scope: "openid offline_access read",
				Session: s.Session, Browser: browserOfTest})
			if err != nil {
				t.Fatal(err)
			}
			resp, oe := r.redeem(t, code)
			if oe != nil {
				t.Fatal(oe)
			}
			check := func(what string, m map[string]any) {
				t.Helper()
				if m["acr"] != tc.acr || !slices.Equal(amrOf(m), tc.amr) || m["auth_time"] != float64(s.Session.AuthTime.Unix()) {
					t.Errorf("%s: acr %v amr %v auth_time %v", what, m["acr"], m["amr"], m["auth_time"])
				}
			}
			check("ID token", payload(t, resp.IDToken))
			check("access token", payload(t, resp.AccessToken))
			refreshed, oe := r.h.App.Refresh(t.Context(), app.RefreshRequest{TokenRequest: r.req(r.web), RefreshToken: resp.RefreshToken})
			if oe != nil {
				t.Fatal(oe)
			}
			check("ID token after a refresh", payload(t, refreshed.IDToken))
			check("access token after a refresh", payload(t, refreshed.AccessToken))
			if tok, err := r.h.App.LookupToken(t.Context(), r.t, refreshed.RefreshToken); err != nil || tok.ACR != tc.acr {
				t.Errorf("refresh token: %+v %v", tok.Token, err)
			}
		})
	}
}
