package app_test

import (
	"maps"
	"testing"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/environment"
)

// Each flow that returns an access token reports it once, by grant and format; a refused
// request, a replayed code or a reused refresh token reports nothing.
func TestFlowsReportIssuedTokens(t *testing.T) {
	fe := newFlowEnv(t)
	jwt, opaque := fe.parties(t, environment.TokenJWT), fe.parties(t, environment.TokenOpaque)
	issued := fe.h.Issued
	want := map[string]int{}
	check := func(step string) {
		t.Helper()
		if got := issued.Counts(); !maps.Equal(got, want) {
			t.Fatalf("after %s: %v, want %v", step, got, want)
		}
	}
	check("setup")

	if _, oe := jwt.h.App.ClientCredentials(t.Context(), jwt.req(jwt.svc)); oe != nil {
		t.Fatal(oe)
	}
	want["client_credentials/jwt"]++
	if _, oe := opaque.h.App.ClientCredentials(t.Context(), opaque.req(opaque.svc)); oe != nil {
		t.Fatal(oe)
	}
	want["client_credentials/opaque"]++
	req := jwt.req(jwt.svc)
	req.Scope = "read write"
	if _, oe := jwt.h.App.ClientCredentials(t.Context(), req); oe == nil {
		t.Fatal("a scope the client may not have was granted")
	}
	check("client credentials")

	code := jwt.code(t, jwt.web, "openid offline_access read", "")
	first, oe := jwt.redeem(t, code)
	if oe != nil {
		t.Fatal(oe)
	}
	want["authorization_code/jwt"]++
	if _, oe := jwt.redeem(t, code); oe == nil {
		t.Fatal("a code redeemed twice")
	}
	check("authorization code")

	refresh := func(value string) *app.TokenResponse {
		resp, oe := jwt.h.App.Refresh(t.Context(), app.RefreshRequest{TokenRequest: jwt.req(jwt.web), RefreshToken: value})
		if oe != nil {
			return nil
		}
		return &resp
	}
	// The replay above revoked the first code's grant: a fresh one for the refresh flow.
	second := jwt.tokens(t, "openid offline_access read")
	want["authorization_code/jwt"]++
	if refresh(first.RefreshToken) != nil {
		t.Fatal("a refresh token of a revoked grant worked")
	}
	if refresh(second.RefreshToken) == nil {
		t.Fatal("refresh failed")
	}
	want["refresh_token/jwt"]++
	if refresh(second.RefreshToken) != nil {
		t.Fatal("a reused refresh token worked")
	}
	check("refresh")
}
