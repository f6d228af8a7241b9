package resourceserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
)

// maxTokenSize refuses absurd tokens before any work.
const maxTokenSize = 16 << 10

// Descriptions of invalid_token refusals. They are fixed texts: a description never quotes
// the token or an internal error.
const (
	descMalformed    = "the access token is malformed"
	descAlgorithm    = "the access token's signing algorithm is not accepted"
	descType         = "the token is not a JWT access token (typ must be at+jwt)"
	descCrit         = "the access token has critical header parameters this verifier does not understand"
	descNoKid        = "the access token names no signing key (kid)"
	descUnknownKey   = "the access token is signed with an unknown key"
	descKeyMismatch  = "the access token's algorithm does not match its key"
	descSignature    = "the access token's signature is invalid"
	descIssuer       = "the access token was issued by another issuer"
	descAudience     = "the access token is not meant for this API"
	descExpired      = "the access token has expired"
	descNotYetValid  = "the access token is not valid yet"
	descMissingClaim = "the access token lacks a required claim"
	descRevoked      = "the access token has been revoked"
	descOpaque       = "opaque access tokens are not accepted"
	descInactive     = "the access token is not active"
)

// b64 decodes JOSE's unpadded base64url, refusing non-canonical encodings.
var b64 = base64.RawURLEncoding.Strict()

// Verifier verifies Paylent access tokens for one API (audience) of one environment
// (issuer). It is safe for concurrent use; create one per API and keep it for the life of
// the process, so that its key cache, deny-list and introspection cache are shared.
type Verifier struct {
	issuer   string
	audience string
	realm    string
	leeway   time.Duration
	lookback time.Duration
	algs     map[string]jws.Verifier
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time

	keys   *keyStore
	denied *denyList
	intro  *introspector // nil: opaque tokens are refused
}

// New returns a verifier for cfg. It does no I/O: discovery and keys are fetched on first
// use (call [Verifier.Prefetch] to fail fast at start).
func New(cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	algs, err := verifiers(cfg.Algorithms)
	if err != nil {
		return nil, err
	}
	v := &Verifier{issuer: cfg.Issuer, audience: cfg.Audience, realm: cfg.Realm, leeway: cfg.Leeway,
		lookback: cfg.RevocationLookback, algs: algs, log: cfg.Logger, now: time.Now,
		client: cfg.HTTPClient, denied: newDenyList()}
	v.keys = &keyStore{issuer: cfg.Issuer, client: cfg.HTTPClient, ttl: cfg.KeyCacheTTL,
		interval: cfg.MinRefreshInterval, now: v.clock, log: cfg.Logger}
	if cfg.Introspection != nil {
		v.intro = newIntrospector(*cfg.Introspection)
	}
	return v, nil
}

// clock is the verifier's time (replaceable in tests).
func (v *Verifier) clock() time.Time { return v.now() }

// Prefetch reads discovery and the JWKS now, so that a misconfigured issuer is reported at
// start rather than on the first request. Verification works without it.
func (v *Verifier) Prefetch(ctx context.Context) error {
	k := v.keys
	if k.meta.Load() == nil || k.set.Load() == nil {
		if err := k.wait(ctx, k.start()); err != nil {
			return err
		}
	}
	if k.meta.Load() == nil || k.set.Load() == nil {
		return unavailable(k.lastError())
	}
	return nil
}

// Verify checks an access token and returns its claims. A JWT (three dot-separated parts)
// is verified locally: signature with the issuer's published keys, typ at+jwt, iss, aud,
// exp, nbf and iat, and the deny-list of [Verifier.WatchRevocations]. Anything else is an
// opaque token, accepted only through introspection ([Config.Introspection]).
//
// Scopes are not checked: see [Verifier.Authorize] and [Claims.HasScope]. The error is
// always an *[Error].
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	switch {
	case token == "":
		return nil, ErrNoToken
	case len(token) > maxTokenSize:
		return nil, invalid(descMalformed)
	case strings.Count(token, ".") == 2:
		return v.verifyJWT(ctx, token)
	case v.intro == nil:
		return nil, invalid(descOpaque)
	}
	return v.introspect(ctx, token)
}

// Authorize verifies the bearer token of an Authorization header value and checks that it
// carries every one of scopes. It is what the middleware does, for other transports.
func (v *Verifier) Authorize(ctx context.Context, authorization string, scopes ...string) (*Claims, error) {
	token, err := BearerToken(authorization)
	if err != nil {
		return nil, err
	}
	c, err := v.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	for _, s := range scopes {
		if !c.HasScope(s) {
			return nil, InsufficientScope(scopes...)
		}
	}
	return c, nil
}

// header is the JOSE header of a JWT access token.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

func (v *Verifier) verifyJWT(ctx context.Context, token string) (*Claims, error) {
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	hdr, err := v.checkHeader(h)
	if err != nil {
		return nil, err
	}
	key, err := v.keys.lookup(ctx, hdr.Kid)
	if err != nil {
		return nil, err
	}
	if !key.fits(hdr.Alg) {
		return nil, invalid(descKeyMismatch)
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, invalid(descMalformed)
	}
	if err := v.algs[hdr.Alg].Verify([]byte(token[:len(h)+1+len(p)]), sig, key.key); err != nil {
		return nil, ErrInvalidToken.with(descSignature, err)
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return nil, invalid(descMalformed)
	}
	c, err := v.checkClaims(payload)
	if err != nil {
		return nil, err
	}
	if v.denied.has(c.JTI) || v.denied.has(clientKey(c.ClientID)) {
		return nil, invalid(descRevoked)
	}
	return c, nil
}

// checkHeader decodes the JOSE header and refuses anything but an allowed algorithm, typ
// at+jwt (RFC 9068 §4), a kid, and no critical extensions (RFC 7515 §4.1.11).
func (v *Verifier) checkHeader(segment string) (header, error) {
	var hdr header
	raw, err := b64.DecodeString(segment)
	if err != nil || json.Unmarshal(raw, &hdr) != nil {
		return hdr, invalid(descMalformed)
	}
	switch typ := strings.ToLower(hdr.Typ); {
	case v.algs[hdr.Alg] == nil:
		return hdr, invalid(descAlgorithm)
	case typ != "at+jwt" && typ != "application/at+jwt":
		return hdr, invalid(descType)
	case hdr.Crit != nil:
		return hdr, invalid(descCrit)
	case hdr.Kid == "":
		return hdr, invalid(descNoKid)
	}
	return hdr, nil
}
