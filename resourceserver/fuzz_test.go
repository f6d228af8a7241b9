package resourceserver

import (
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Whatever it is given, Verify neither panics nor accepts anything but the one genuine
// token.
func FuzzVerify(f *testing.F) {
	iss := newIssuer(f)
	iss.publish("k1", 0)
	v := iss.verifier(nil)
	good := iss.sign("k1", jwa.RS256, iss.claims(time.Now()))
	mustVerify(f, v, good)
	parts := strings.Split(good, ".")
	for _, seed := range []string{good, parts[0] + "." + parts[1] + ".", parts[0] + ".." + parts[2], "a.b.c", "..", "",
		iss.sign("k1", jwa.RS256, iss.claims(time.Now()), func(h jws.Headers) { h.Set(jws.TypeKey, "JWT") }), //nolint:errcheck // valid
		unsigned(map[string]any{"alg": "none", "typ": "at+jwt", "kid": "k1"}, iss.claims(time.Now())),
		"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.e30.AAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(t.Context(), token)
		if err == nil && token != good {
			t.Fatalf("accepted %q: %+v", token, c)
		}
	})
}

func FuzzBearerToken(f *testing.F) {
	for _, seed := range []string{"Bearer abc", "bearer a.b.c", "Bearer  x==", "Basic x", "Bearer", "Bearer a b", "Bearer ="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, err := BearerToken(header)
		if err != nil {
			return
		}
		if !isToken68(token) || strings.ContainsAny(token, " \t\r\n") {
			t.Fatalf("%q gave %q", header, token)
		}
		if again, err := BearerToken("Bearer " + token); err != nil || again != token {
			t.Fatalf("round trip of %q: %q %v", token, again, err)
		}
	})
}
