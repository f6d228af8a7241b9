package resourceserver

import (
	"net/http"
	"slices"
	"time"
)

// Paylent's authentication context classes, as tokens carry them in acr.
const (
	// ACRPassword: the user signed in with a password alone.
	ACRPassword = "urn:paylent:acr:pwd"
	// ACRMultiFactor: with a password and a second factor.
	ACRMultiFactor = "urn:paylent:acr:mfa"
)

// InsufficientUserAuthentication is the RFC 9470 refusal: 401 with
// WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="...",
// max_age="..." (maxAge in seconds; negative for none). The client sends the user to
// Paylent's authorization endpoint again with those acr_values and max_age.
func InsufficientUserAuthentication(acrValues []string, maxAge int) *Error {
	return &Error{Code: CodeInsufficientUserAuthentication, Status: http.StatusUnauthorized,
		Description: "a stronger or more recent authentication is required", ACRValues: slices.Clone(acrValues), MaxAge: maxAge}
}

// CheckAuthentication checks how a token's user signed in: acr one of acrValues (none:
// any) and auth_time within maxAge of now (0: any age). It returns nil or the
// [InsufficientUserAuthentication] refusal naming what is needed.
func CheckAuthentication(c *Claims, acrValues []string, maxAge time.Duration, now time.Time) error {
	tooOld := maxAge > 0 && (c.AuthTime.IsZero() || now.Sub(c.AuthTime) > maxAge)
	if len(acrValues) > 0 && !slices.Contains(acrValues, c.ACR) || tooOld {
		age := -1
		if maxAge > 0 {
			age = int(maxAge / time.Second)
		}
		return InsufficientUserAuthentication(acrValues, age)
	}
	return nil
}

// RequireAuthentication is net/http middleware for a route behind [Verifier.RequireScope]:
// it lets a request through only when the token's user signed in as acrValues and maxAge
// ask ([CheckAuthentication]), and answers the RFC 9470 challenge otherwise.
func (v *Verifier) RequireAuthentication(acrValues []string, maxAge time.Duration) func(http.Handler) http.Handler {
	acrValues = slices.Clone(acrValues)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFromContext(r.Context())
			if !ok {
				v.WriteError(w, ErrNoToken)
				return
			}
			if err := CheckAuthentication(c, acrValues, maxAge, v.now()); err != nil {
				v.WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
