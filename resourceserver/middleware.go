package resourceserver

import (
	"net/http"
	"slices"
	"strings"
)

// BearerToken extracts the token from an Authorization header value ("Bearer <token>", the
// scheme case-insensitive; RFC 6750 §2.1). An empty value or another scheme is
// [ErrNoToken]; a Bearer credential that is not a token68 is [ErrInvalidRequest]. Tokens in
// query strings or form bodies are deliberately not supported.
func BearerToken(authorization string) (string, error) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoToken
	}
	token = strings.TrimLeft(token, " ")
	if !isToken68(token) {
		return "", ErrInvalidRequest.with("the Authorization header is not a bearer token", nil)
	}
	return token, nil
}

// isToken68 reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
// (RFC 7235 §2.1).
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// RequireScope is net/http middleware that lets a request through only with a valid bearer
// token carrying every one of scopes (none: any valid token). It puts the token's
// [Claims] in the request's context ([ClaimsFromContext]) and answers refusals as
// [Verifier.WriteError] does: 401 without an error code when no token was sent, 401
// invalid_token, 403 insufficient_scope naming the scopes, 503 when the issuer cannot be
// reached.
func (v *Verifier) RequireScope(scopes ...string) func(http.Handler) http.Handler {
	scopes = slices.Clone(scopes)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var claims *Claims
			var err error = ErrInvalidRequest // more than one Authorization header
			if len(r.Header.Values("Authorization")) <= 1 {
				claims, err = v.Authorize(r.Context(), r.Header.Get("Authorization"), scopes...)
			}
			if err != nil {
				v.WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}
