// Package keygen generates signing keys: RSA (RS256) or ECDSA P-256 (ES256) key pairs whose
// private half is sealed with the master key at once, so that it exists in clear only in
// this process's memory. The pool holds RSA keys only: ES256 keys are made inline.
package keygen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
)

// RSAKeyBits is the size of generated signing keys.
const RSAKeyBits = 2048

// Material generates an RSA signing key (RS256) and seals its PKCS#8 form with masterKey.
// The kid is the key's RFC 7638 thumbprint (SHA-256, unpadded base64url). random supplies
// the nonce (crypto/rand when nil; the key itself always comes from crypto/rand).
func Material(masterKey []byte, random io.Reader) (signingkey.Material, error) {
	priv, err := rsa.GenerateKey(rand.Reader, RSAKeyBits)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("generate signing key: %w", err)
	}
	return seal(masterKey, random, priv, &priv.PublicKey, jwa.RS256)
}

// ES256Material generates an ECDSA P-256 signing key (ES256), sealed like Material's. It
// takes microseconds: environments with ES256 keys need no pool.
func ES256Material(masterKey []byte, random io.Reader) (signingkey.Material, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("generate signing key: %w", err)
	}
	return seal(masterKey, random, priv, &priv.PublicKey, jwa.ES256)
}

// MaterialFor generates a key of the algorithm alg (environment.SigningAlgs).
func MaterialFor(alg string, masterKey []byte, random io.Reader) (signingkey.Material, error) {
	switch alg {
	case environment.SigningRS256, "":
		return Material(masterKey, random)
	case environment.SigningES256:
		return ES256Material(masterKey, random)
	}
	return signingkey.Material{}, fmt.Errorf("generate signing key: no keys of algorithm %q", alg)
}

// GenerateFor generates n keys of the algorithm alg with MaterialFor.
func GenerateFor(alg string, masterKey []byte, random io.Reader, n int) ([]signingkey.Material, error) {
	out := make([]signingkey.Material, n)
	for i := range out {
		m, err := MaterialFor(alg, masterKey, random)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// seal seals priv's PKCS#8 form with masterKey (a nonce from random, crypto/rand when nil)
// and describes pub as a JWK naming its kid (thumbprint), alg and use.
func seal(masterKey []byte, random io.Reader, priv, pub any, alg jwa.SignatureAlgorithm) (signingkey.Material, error) {
	if random == nil {
		random = rand.Reader
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("encode signing key: %w", err)
	}
	defer clear(der)
	nonce := make([]byte, signingkey.NonceSize)
	if _, err := io.ReadFull(random, nonce); err != nil {
		return signingkey.Material{}, fmt.Errorf("read nonce: %w", err)
	}
	sealed, err := signingkey.Seal(masterKey, nonce, der)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("seal signing key: %w", err)
	}
	key, err := jwk.FromRaw(pub)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("public key as JWK: %w", err)
	}
	thumb, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("thumbprint public key: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	if err := errors.Join(key.Set(jwk.KeyIDKey, kid), key.Set(jwk.AlgorithmKey, alg),
		key.Set(jwk.KeyUsageKey, string(jwk.ForSignature))); err != nil {
		return signingkey.Material{}, fmt.Errorf("public key as JWK: %w", err)
	}
	pubJSON, err := json.Marshal(key)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("encode public key: %w", err)
	}
	return signingkey.Material{KID: kid, PublicJWK: pubJSON, SealedPrivate: sealed}, nil
}

// Generate generates n keys with Material.
func Generate(masterKey []byte, random io.Reader, n int) ([]signingkey.Material, error) {
	out := make([]signingkey.Material, n)
	for i := range out {
		m, err := Material(masterKey, random)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}
