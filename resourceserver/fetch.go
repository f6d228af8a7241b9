package resourceserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

const (
	// maxDocument bounds discovery, JWKS and introspection responses.
	maxDocument = 1 << 20
	// maxCacheAge bounds a Cache-Control max-age.
	maxCacheAge = 24 * time.Hour
	// minRSABits refuses keys too short to trust.
	minRSABits = 2048
)

// metadata is what the verifier reads from discovery.
type metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// publicKey is one verification key of the JWKS, parsed once.
type publicKey struct {
	key any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	alg string // the JWK's alg; "" when it names none
}

// fits reports whether the key may verify a signature of alg.
func (k publicKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch k := k.key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		// ECDSA ties the algorithm to the curve (RFC 7518 §3.4): ES256 is P-256 only.
		return ecCurve[alg] != nil && ecCurve[alg]() == k.Curve
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// ecCurve is the curve of each ECDSA algorithm.
var ecCurve = map[string]func() elliptic.Curve{"ES256": elliptic.P256, "ES384": elliptic.P384, "ES512": elliptic.P521}

// getJSON fetches url into v and returns the response's Cache-Control max-age (ok false when
// it gives none).
func getJSON(ctx context.Context, client *http.Client, url string, v any) (maxAge time.Duration, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	switch {
	case err != nil:
		return 0, false, fmt.Errorf("read %s: %w", url, err)
	case resp.StatusCode != http.StatusOK:
		return 0, false, fmt.Errorf("get %s: status %d", url, resp.StatusCode)
	case len(body) > maxDocument:
		return 0, false, fmt.Errorf("get %s: response larger than %d bytes", url, maxDocument)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return 0, false, fmt.Errorf("decode %s: %w", url, err)
	}
	maxAge, ok = cacheMaxAge(resp.Header.Values("Cache-Control"))
	return maxAge, ok, nil
}

// cacheMaxAge reads max-age from Cache-Control; no-store and no-cache mean 0.
func cacheMaxAge(values []string) (time.Duration, bool) {
	age, found := time.Duration(0), false
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(arg, `"`), 10, 64)
				if err == nil && n >= 0 {
					age, found = min(time.Duration(n)*time.Second, maxCacheAge), true
				}
			}
		}
	}
	return age, found
}

// discover reads and checks the issuer's discovery document.
func discover(ctx context.Context, client *http.Client, issuer string) (*metadata, error) {
	var m metadata
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	if _, _, err := getJSON(ctx, client, url, &m); err != nil {
		return nil, err
	}
	if m.Issuer != issuer {
		return nil, fmt.Errorf("discovery names issuer %q, not %q", m.Issuer, issuer)
	}
	if err := checkURL(m.JWKSURI); err != nil {
		return nil, fmt.Errorf("discovery jwks_uri %w", err)
	}
	if m.IntrospectionEndpoint != "" && checkURL(m.IntrospectionEndpoint) != nil {
		m.IntrospectionEndpoint = ""
	}
	return &m, nil
}

// parseJWKS keeps the usable signature keys of a JWKS by kid; skipped lists what it left out
// and why.
func parseJWKS(raw json.RawMessage) (keys map[string]publicKey, skipped []string, err error) {
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("parse jwks: %w", err)
	}
	keys = make(map[string]publicKey, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid := k.KeyID()
		if why := unusable(k, keys); why != "" {
			skipped = append(skipped, fmt.Sprintf("%q: %s", kid, why))
			continue
		}
		pub, err := jwk.PublicRawKeyOf(k)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%q: %v", kid, err))
			continue
		}
		if r, ok := pub.(*rsa.PublicKey); ok && r.N.BitLen() < minRSABits {
			skipped = append(skipped, fmt.Sprintf("%q: RSA key shorter than %d bits", kid, minRSABits))
			continue
		}
		keys[kid] = publicKey{key: pub, alg: k.Algorithm().String()}
	}
	return keys, skipped, nil
}

// unusable says why a JWK cannot verify access tokens, or "".
func unusable(k jwk.Key, have map[string]publicKey) string {
	switch kid := k.KeyID(); {
	case kid == "":
		return "no kid"
	case have[kid].key != nil:
		return "duplicate kid"
	case k.KeyUsage() != "" && k.KeyUsage() != "sig":
		return "not a signature key"
	}
	return ""
}

// errNoKeys is the cause when the issuer could never be reached.
var errNoKeys = errors.New("no signing keys fetched yet")
