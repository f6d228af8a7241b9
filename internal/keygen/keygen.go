// Package keygen generates signing keys: RSA key pairs whose private half is sealed with the
// master key at once, so that it exists in clear only in this process's memory.
package keygen

import (
	"crypto"
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
	"github.com/paylent/paylent/domain/signingkey"
)

// RSAKeyBits is the size of generated signing keys.
const RSAKeyBits = 2048

// Material generates an RSA signing key and seals its PKCS#8 form with masterKey.
// The kid is the key's RFC 7638 thumbprint (SHA-256, unpadded base64url). random supplies
// the nonce (crypto/rand when nil; the RSA key itself always comes from crypto/rand).
func Material(masterKey []byte, random io.Reader) (signingkey.Material, error) {
	if random == nil {
		random = rand.Reader
	}
	priv, err := rsa.GenerateKey(random, RSAKeyBits)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("generate signing key: %w", err)
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
	pub, err := jwk.FromRaw(&priv.PublicKey)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("public key as JWK: %w", err)
	}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return signingkey.Material{}, fmt.Errorf("thumbprint public key: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	if err := errors.Join(pub.Set(jwk.KeyIDKey, kid), pub.Set(jwk.AlgorithmKey, jwa.RS256),
		pub.Set(jwk.KeyUsageKey, string(jwk.ForSignature))); err != nil {
		return signingkey.Material{}, fmt.Errorf("public key as JWK: %w", err)
	}
	pubJSON, err := json.Marshal(pub)
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
