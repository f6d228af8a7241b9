package keygen_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/internal/keygen"
)

// ES256 material: a public P-256 JWK named by its RFC 7638 thumbprint, and the PKCS#8 key
// sealed with the master key, never in clear.
func TestES256Material(t *testing.T) {
	mk := bytes.Repeat([]byte{9}, signingkey.MasterKeySize)
	m, err := keygen.MaterialFor("ES256", mk, nil)
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]string
	if err := json.Unmarshal(m.PublicJWK, &members); err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range members {
			if !yield(k) {
				return
			}
		}
	})
	if strings.Join(names, ",") != "alg,crv,kid,kty,use,x,y" || members["kty"] != "EC" || members["crv"] != "P-256" ||
		members["alg"] != "ES256" || members["use"] != "sig" || members["kid"] != m.KID {
		t.Errorf("public jwk %s", m.PublicJWK)
	}
	pub, _ := jwk.ParseKey(m.PublicJWK)
	pub.Remove(jwk.KeyIDKey) //nolint:errcheck // present
	thumb, _ := pub.Thumbprint(crypto.SHA256)
	if m.KID != base64.RawURLEncoding.EncodeToString(thumb) {
		t.Errorf("kid %s is not the thumbprint", m.KID)
	}
	der, err := signingkey.Open(mk, m.SealedPrivate)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	var raw ecdsa.PublicKey
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok || pub.Raw(&raw) != nil || !ec.PublicKey.Equal(&raw) || ec.Curve != elliptic.P256() {
		t.Error("the sealed key is not the P-256 key of the JWK")
	}
	if bytes.Contains(m.SealedPrivate, ec.D.Bytes()) {
		t.Error("the sealed key holds the private scalar in clear")
	}
	if _, err := keygen.MaterialFor("HS256", mk, nil); err == nil {
		t.Error("HS256 material was made")
	}
}
