package resourceserver

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
)

// Claims are what a verified access token says. They are the same whether the token was a
// JWT verified locally or an opaque token introspected.
type Claims struct {
	// Issuer is iss: the environment that issued the token.
	Issuer string
	// Subject is sub: the user, or for client credentials the client itself.
	Subject string
	// Audience is aud: the APIs the token is for (it contains the verifier's Audience).
	Audience []string
	// ClientID is client_id: the OAuth client the token was issued to.
	ClientID string
	// Scopes are the granted scopes (the space-separated scope claim, split).
	Scopes []string
	// JTI is jti: the token's unique id, as revocation events name it.
	JTI string
	// IssuedAt is iat; zero when absent (introspection may omit it).
	IssuedAt time.Time
	// ExpiresAt is exp; zero when an introspection answer omits it.
	ExpiresAt time.Time
	// AuthTime, ACR and AMR say when and how the user signed in (auth_time, acr, amr; user
	// tokens only): Paylent's acr is "urn:paylent:acr:pwd" (a password) or
	// "urn:paylent:acr:mfa" (a password and a second factor). See [CheckAuthentication].
	AuthTime time.Time
	ACR      string
	AMR      []string
	// Raw is the claims set as JSON: the JWT's payload, or the introspection response. Decode
	// it to read claims this type does not name.
	Raw json.RawMessage
}

// HasScope reports whether the token was granted scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.Scopes, scope) }

type claimsKey struct{}

// ContextWithClaims returns a context carrying c; the middleware calls it for the handlers
// it protects, and tests of those handlers can too.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the claims the middleware put in a request's context.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// wireClaims are the registered claims of a JWT access token (RFC 9068 §2.2) or of an
// introspection response (RFC 7662 §2.2). Times are NumericDates (seconds, possibly
// fractional); 0 means absent. Plain float64 fields keep decoding cheap.
type wireClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	ExpiresAt float64  `json:"exp"`
	NotBefore float64  `json:"nbf"`
	IssuedAt  float64  `json:"iat"`
	JTI       string   `json:"jti"`
	Scope     string   `json:"scope"`
	ClientID  string   `json:"client_id"`
	AuthTime  float64  `json:"auth_time"`
	ACR       string   `json:"acr"`
	AMR       []string `json:"amr"`
}

// times are a claims set's NumericDates as times; zero when absent.
type times struct{ exp, nbf, iat time.Time }

// times converts the NumericDates, refusing dates before 1970 or after year 9999.
func (w *wireClaims) times() (times, bool) {
	var t times
	ok := true
	conv := func(f float64) time.Time {
		if f == 0 {
			return time.Time{}
		}
		if f < 0 || f > maxNumericDate || math.IsNaN(f) {
			ok = false
			return time.Time{}
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9))
	}
	t.exp, t.nbf, t.iat = conv(w.ExpiresAt), conv(w.NotBefore), conv(w.IssuedAt)
	return t, ok
}

// checkClaims decodes a JWT payload and checks it for this verifier: iss, aud, exp, nbf,
// iat, and the claims RFC 9068 requires.
func (v *Verifier) checkClaims(payload []byte) (*Claims, error) {
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, invalid(descMalformed)
	}
	if w.ExpiresAt == 0 || w.IssuedAt == 0 || w.JTI == "" || w.Subject == "" || w.ClientID == "" {
		return nil, invalid(descMissingClaim)
	}
	t, err := v.checkCommon(&w)
	if err != nil {
		return nil, err
	}
	return w.claims(t, payload), nil
}

// checkCommon checks what JWTs and introspection answers share: issuer, audience, and
// times with the leeway.
func (v *Verifier) checkCommon(w *wireClaims) (times, error) {
	t, ok := w.times()
	now := v.now()
	switch {
	case !ok:
		return t, invalid(descMalformed)
	case w.Issuer != v.issuer:
		return t, invalid(descIssuer)
	case !slices.Contains(w.Audience, v.audience):
		return t, invalid(descAudience)
	case !t.exp.IsZero() && now.After(t.exp.Add(v.leeway)):
		return t, invalid(descExpired)
	case !t.nbf.IsZero() && now.Add(v.leeway).Before(t.nbf):
		return t, invalid(descNotYetValid)
	case !t.iat.IsZero() && now.Add(v.leeway).Before(t.iat):
		return t, invalid(descNotYetValid)
	}
	return t, nil
}

func (w *wireClaims) claims(t times, raw []byte) *Claims {
	c := &Claims{Issuer: w.Issuer, Subject: w.Subject, Audience: w.Audience, ClientID: w.ClientID,
		Scopes: strings.Fields(w.Scope), JTI: w.JTI, IssuedAt: t.iat, ExpiresAt: t.exp, ACR: w.ACR, AMR: w.AMR, Raw: raw}
	if w.AuthTime > 0 && w.AuthTime < maxNumericDate {
		c.AuthTime = time.Unix(int64(w.AuthTime), 0)
	}
	return c
}

// audience is aud: one string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*a = list
	return nil
}

// maxNumericDate is the last second of year 9999; later dates are refused as malformed.
const maxNumericDate = 253402300799
