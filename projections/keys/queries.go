package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
)

// ErrNoSigningKey: the environment has no primary key yet (the key manager creates one
// shortly after the environment). It matches domain.ErrNotFound.
var ErrNoSigningKey = fmt.Errorf("no signing key yet: %w", domain.ErrNotFound)

// Signer is an environment's primary key, decrypted, parsed and ready to sign. It is shared
// by every caller: do not modify it.
type Signer struct {
	KID string
	// Alg is the key's algorithm: jwa.RS256 or jwa.ES256 (its environment's); "" means RS256.
	Alg jwa.SignatureAlgorithm
	// Key is the private key (*rsa.PrivateKey, precomputed, or *ecdsa.PrivateKey). Sign
	// with it (jws.WithKey(s.Alg, s.Key) with the kid in the protected headers) on hot
	// paths: jwx re-materialises the key from a jwk.Key on every signature.
	Key crypto.Signer
	// JWK is the same key as a JWK with kid, alg and use sig set.
	JWK jwk.Key
}

// LogValue keeps the private key out of logs.
func (s *Signer) LogValue() slog.Value { return slog.GroupValue(slog.String("kid", s.KID)) }

// KeyInfo describes a key without its material.
type KeyInfo struct {
	KID         string          `json:"kid"`
	Alg         string          `json:"alg"`
	Role        signingkey.Role `json:"role"`
	CreatedAt   time.Time       `json:"created_at"`
	VerifyUntil time.Time       `json:"verify_until,omitzero"` // retired keys only
}

// Signer returns env's primary key. It is decrypted with the master key and parsed on the
// first call after each promotion and cached; later calls only look it up. A master key
// that does not open it is an error wrapping signingkey.ErrWrongMasterKey.
func (k *Keyring) Signer(env string) (*Signer, error) {
	k.mu.RLock()
	e := k.st.Environments[env]
	if e == nil || e.Primary == "" {
		k.mu.RUnlock()
		return nil, fmt.Errorf("environment %s: %w", env, ErrNoSigningKey)
	}
	kid := e.Primary
	if c := e.signer; c != nil && c.kid == kid {
		k.mu.RUnlock()
		return c.signer, c.err
	}
	sk := e.Keys[kid]
	k.mu.RUnlock()

	s, err := k.unseal(env, sk)
	k.mu.Lock()
	if e := k.st.Environments[env]; e != nil && e.Primary == kid {
		e.signer = &cachedSigner{kid: kid, signer: s, err: err}
	}
	k.mu.Unlock()
	return s, err
}

// SigningKey returns env's primary private key as a JWK (kid, alg, use sig), cached
// like Signer. Do not modify it.
func (k *Keyring) SigningKey(env string) (jwk.Key, error) {
	s, err := k.Signer(env)
	if err != nil {
		return nil, err
	}
	return s.JWK, nil
}

// unseal decrypts and parses a stored private key. Its fields are never modified after
// Apply, so it may be read without the lock.
func (k *Keyring) unseal(env string, sk *storedKey) (*Signer, error) {
	der, err := signingkey.Open(k.master, sk.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("open signing key %s of %s: %w", sk.KID, env, err)
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s of %s: %w", sk.KID, env, err)
	}
	priv, ok := parsed.(crypto.Signer)
	_, rawPub := sk.public()
	if !ok || !matches(sk.alg(), priv) || rawPub == nil || !rawPub.(interface{ Equal(crypto.PublicKey) bool }).Equal(priv.Public()) {
		return nil, fmt.Errorf("signing key %s of %s does not match its public key", sk.KID, env)
	}
	if r, ok := priv.(*rsa.PrivateKey); ok {
		r.Precompute()
	}
	key, err := jwk.FromRaw(priv)
	if err == nil {
		err = setHeaders(key, sk.KID, sk.alg())
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s of %s as JWK: %w", sk.KID, env, err)
	}
	return &Signer{KID: sk.KID, Alg: jwa.SignatureAlgorithm(sk.alg()), Key: priv, JWK: key}, nil
}

// matches reports whether priv is a key of the algorithm alg.
func matches(alg string, priv crypto.Signer) bool {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		return alg == environment.SigningRS256
	case *ecdsa.PrivateKey:
		return alg == environment.SigningES256 && k.Curve == elliptic.P256()
	}
	return false
}

func setHeaders(key jwk.Key, kid, alg string) error {
	return errors.Join(key.Set(jwk.KeyIDKey, kid), key.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg)),
		key.Set(jwk.KeyUsageKey, string(jwk.ForSignature)))
}

// verifiable lists env's public keys that verify tokens at now: the primary, the next, and
// retired keys until their verify_until. Called with the read lock held.
func (k *Keyring) verifiable(env string, now time.Time) []*storedKey {
	return k.sorted(env, func(sk *storedKey) bool {
		pub, _ := sk.public()
		return pub != nil && (sk.Role != signingkey.RoleRetired || sk.VerifyUntil.After(now))
	})
}

var rank = map[signingkey.Role]int{signingkey.RolePrimary: 0, signingkey.RoleNext: 1, signingkey.RoleRetired: 2}

// sorted lists env's keys that pass keep: primary first, then next, then retired (newest
// first). Called with the read lock held.
func (k *Keyring) sorted(env string, keep func(*storedKey) bool) []*storedKey {
	e := k.st.Environments[env]
	if e == nil {
		return nil
	}
	out := make([]*storedKey, 0, len(e.Keys))
	for _, sk := range e.Keys {
		if keep(sk) {
			out = append(out, sk)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.Role] != rank[b.Role] {
			return rank[a.Role] < rank[b.Role]
		}
		if !a.VerifyUntil.Equal(b.VerifyUntil) {
			return a.VerifyUntil.After(b.VerifyUntil)
		}
		return a.KID < b.KID
	})
	return out
}

// VerificationKeys returns the public keys that verify env's tokens at now. The keys are
// shared: do not modify them.
func (k *Keyring) VerificationKeys(env string, now time.Time) jwk.Set {
	k.mu.RLock()
	defer k.mu.RUnlock()
	set := jwk.NewSet()
	for _, sk := range k.verifiable(env, now) {
		set.AddKey(sk.pub) //nolint:errcheck // a new set holds each key once
	}
	return set
}

// PublicKey returns the public key kid of env if it verifies tokens at now.
func (k *Keyring) PublicKey(env, kid string, now time.Time) (jwk.Key, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	e := k.st.Environments[env]
	if e == nil {
		return nil, false
	}
	sk := e.Keys[kid]
	if sk == nil || (sk.Role == signingkey.RoleRetired && !sk.VerifyUntil.After(now)) {
		return nil, false
	}
	pub, _ := sk.public()
	return pub, pub != nil
}

// JWKS returns env's JWK Set document at now, as served at /.well-known/jwks.json:
// {"keys":[...]} of public keys (kty, kid, use, alg, n, e). An environment without keys
// has an empty set.
func (k *Keyring) JWKS(env string, now time.Time) ([]byte, error) {
	k.mu.RLock()
	keys := k.verifiable(env, now)
	k.mu.RUnlock()
	// The document changes only when the set of keys does: serve the encoded bytes.
	var sig strings.Builder
	for _, sk := range keys {
		sig.WriteString(sk.KID)
		sig.WriteByte(' ')
	}
	if c, ok := k.jwksCache.Load(env); ok && c.(cachedJWKS).sig == sig.String() {
		return c.(cachedJWKS).doc, nil
	}
	doc := struct {
		Keys []jwk.Key `json:"keys"`
	}{Keys: make([]jwk.Key, 0, len(keys))}
	for _, sk := range keys {
		doc.Keys = append(doc.Keys, sk.pub)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode jwks of %s: %w", env, err)
	}
	k.jwksCache.Store(env, cachedJWKS{sig: sig.String(), doc: b})
	return b, nil
}

// cachedJWKS is an environment's encoded JWKS and the kids it holds.
type cachedJWKS struct {
	sig string
	doc []byte
}

// Keys lists env's keys, primary first, then next, then retired (newest first); no material.
func (k *Keyring) Keys(env string) []KeyInfo {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []KeyInfo
	for _, sk := range k.sorted(env, func(*storedKey) bool { return true }) {
		out = append(out, KeyInfo{KID: sk.KID, Alg: sk.alg(), Role: sk.Role, CreatedAt: sk.CreatedAt, VerifyUntil: sk.VerifyUntil})
	}
	return out
}

// Complete reports whether env has a primary and a next key.
func (k *Keyring) Complete(env string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	e := k.st.Environments[env]
	return e != nil && e.Primary != "" && e.Next != ""
}

// Incomplete lists the environments that have keys but lack a primary or a next key (an
// environment is created with its primary only; its next key follows). It costs what it
// returns, not the number of environments.
func (k *Keyring) Incomplete() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]string, 0, len(k.incomplete))
	for env := range k.incomplete {
		out = append(out, env)
	}
	sort.Strings(out)
	return out
}

// Known reports whether env has any keys in this model.
func (k *Keyring) Known(env string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.st.Environments[env] != nil
}
