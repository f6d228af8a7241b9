package resourceserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Defaults for the zero values of [Config] and [Introspection].
const (
	DefaultLeeway             = 30 * time.Second
	DefaultKeyCacheTTL        = 5 * time.Minute
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultRevocationLookback = time.Hour
	DefaultIntrospectionTTL   = 30 * time.Second
	DefaultIntrospectionCache = 10000
)

// Config configures a [Verifier]. Issuer and Audience are required; everything else has a
// default, taken when the field is left zero (a negative duration means zero).
type Config struct {
	// Issuer is the environment's issuer URL exactly as Paylent names it, e.g.
	// "http://examples-dev.localhost:4000". Discovery is read from
	// <Issuer>/.well-known/openid-configuration and must name the same issuer; tokens must
	// carry it in iss.
	Issuer string
	// Audience is this API's identifier (an API registered with `paylent apis create`),
	// e.g. "http://localhost:4100". Tokens whose aud does not contain it are refused.
	Audience string
	// HTTPClient talks to the issuer. Default: a client with a 10 s timeout. Note that Go
	// does not resolve *.localhost names: against a local Paylent, pass a client whose
	// transport dials them on 127.0.0.1.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30 s.
	Leeway time.Duration
	// Algorithms are the JWS algorithms accepted. Default: RS256 and ES256 (what Paylent
	// signs with: RS256 unless the environment was created with ES256 keys). Whatever the
	// list, a token verifies only with a JWKS key of the same algorithm: its "alg" member,
	// when it has one, must equal the token's, and its type must fit (RSA for RS/PS, the
	// algorithm's own curve for ES: P-256 for ES256). Asymmetric algorithms only: "none"
	// and HMAC algorithms are refused by [New], so a token signed with the public key as an
	// HMAC secret can never verify.
	Algorithms []string
	// KeyCacheTTL is how long fetched keys are used when the JWKS response has no
	// Cache-Control max-age. Default 5 minutes.
	KeyCacheTTL time.Duration
	// MinRefreshInterval is the least time between two fetches of the JWKS, whatever asks
	// for them (expiry, unknown kids, failures). Default 10 s: a flood of tokens with
	// made-up kids costs Paylent at most one request per interval.
	MinRefreshInterval time.Duration
	// Realm is the realm of WWW-Authenticate challenges. Default: Audience.
	Realm string
	// Introspection, when set, accepts opaque tokens by asking the issuer's introspection
	// endpoint. Without it, only JWT access tokens are accepted.
	Introspection *Introspection
	// RevocationLookback is how far back [Verifier.WatchRevocations] reads revocations
	// when it starts: the longest access-token lifetime of the environment. Default 1 hour
	// (Paylent's default lifetime).
	RevocationLookback time.Duration
	// Logger receives warnings (issuer unreachable, revocation watch trouble). Default:
	// discarded.
	Logger *slog.Logger
}

// Introspection configures token introspection (RFC 7662) for opaque access tokens. The
// client must be a confidential client of the same environment; it authenticates with
// HTTP Basic.
type Introspection struct {
	ClientID     string
	ClientSecret string
	// CacheTTL is how long an active answer is reused (never beyond the token's exp).
	// Inactive answers are never cached. Default 30 s; negative disables the cache. A
	// token revoked meanwhile stays accepted until its entry ends, unless
	// [Verifier.WatchRevocations] runs.
	CacheTTL time.Duration
	// MaxCacheEntries bounds the cache. Default 10,000.
	MaxCacheEntries int
}

// LogValue keeps the client secret out of logs.
func (in Introspection) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", in.ClientID), slog.String("client_secret", "[REDACTED]"),
		slog.Duration("cache_ttl", in.CacheTTL), slog.Int("max_cache_entries", in.MaxCacheEntries))
}

// signatureAlgorithms are the algorithms a verifier may be configured to accept.
var signatureAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// withDefaults returns cfg with defaults applied, or every problem at once.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if err := checkURL(cfg.Issuer); err != nil {
		errs = append(errs, fmt.Errorf("Issuer: %w", err))
	}
	if strings.TrimSpace(cfg.Audience) == "" {
		errs = append(errs, errors.New("Audience is required"))
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"RS256", "ES256"}
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(signatureAlgorithms, a) {
			errs = append(errs, fmt.Errorf("algorithm %q is not allowed (one of %s)", a, strings.Join(signatureAlgorithms, ", ")))
		}
	}
	if in := cfg.Introspection; in != nil && (in.ClientID == "" || in.ClientSecret == "") {
		errs = append(errs, errors.New("Introspection needs ClientID and ClientSecret"))
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("resourceserver: invalid config: %w", errors.Join(errs...))
	}
	cfg.Leeway = orDefault(cfg.Leeway, DefaultLeeway)
	cfg.KeyCacheTTL = orDefault(cfg.KeyCacheTTL, DefaultKeyCacheTTL)
	cfg.MinRefreshInterval = orDefault(cfg.MinRefreshInterval, DefaultMinRefreshInterval)
	cfg.RevocationLookback = orDefault(cfg.RevocationLookback, DefaultRevocationLookback)
	if cfg.Realm == "" {
		cfg.Realm = cfg.Audience
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if in := cfg.Introspection; in != nil {
		c := *in
		c.CacheTTL = orDefault(c.CacheTTL, DefaultIntrospectionTTL)
		if c.MaxCacheEntries <= 0 {
			c.MaxCacheEntries = DefaultIntrospectionCache
		}
		cfg.Introspection = &c
	}
	return cfg, nil
}

// orDefault is d when v is zero, 0 when v is negative, else v.
func orDefault(v, d time.Duration) time.Duration {
	switch {
	case v == 0:
		return d
	case v < 0:
		return 0
	}
	return v
}

// checkURL accepts absolute http and https URLs.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return errors.New("is required")
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return errors.New("must be an absolute http or https URL")
	}
	return nil
}

// verifiers builds one JWS verifier per allowed algorithm, once.
func verifiers(algs []string) (map[string]jws.Verifier, error) {
	out := make(map[string]jws.Verifier, len(algs))
	for _, a := range algs {
		vf, err := jws.NewVerifier(jwa.SignatureAlgorithm(a))
		if err != nil {
			return nil, fmt.Errorf("resourceserver: algorithm %s: %w", a, err)
		}
		out[a] = vf
	}
	return out, nil
}
