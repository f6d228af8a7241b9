package resourceserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// esMaker is an issuer as an ES256 environment publishes it (EC P-256 keys with alg ES256),
// plus an RSA key k1, an EC key without alg (k-es-any) and a P-384 key declared ES256.
type esMaker struct {
	*maker
	ec *ecdsa.PrivateKey
}

func newESMaker(t *testing.T, edit ...func(*Config)) *esMaker {
	iss := newIssuer(t)
	iss.publish("k1", 0)
	add := func(kid string, curve elliptic.Curve, alg jwa.SignatureAlgorithm) *ecdsa.PrivateKey {
		priv := must(ecdsa.GenerateKey(curve, rand.Reader))
		pub := must(jwk.FromRaw(priv.Public()))
		pub.Set(jwk.KeyIDKey, kid)                         //nolint:errcheck // valid
		pub.Set(jwk.KeyUsageKey, string(jwk.ForSignature)) //nolint:errcheck // valid
		if alg != "" {
			pub.Set(jwk.AlgorithmKey, alg) //nolint:errcheck // valid
		}
		iss.set(func(s *testIssuer) { s.published = append(s.published, pub); s.private[kid] = priv })
		return priv
	}
	ec := add("k-es", elliptic.P256(), jwa.ES256)
	add("k-es-any", elliptic.P256(), "")
	add("k-p384", elliptic.P384(), jwa.ES256)
	clk := newClock()
	return &esMaker{maker: &maker{iss: iss, now: clk.Now(), v: iss.verifier(clk, edit...)}, ec: ec}
}

// craft is a token whose header says alg over kid, signed with the issuer's key kid under
// the algorithm really: jws.Sign would write really into the header.
func (m *esMaker) craft(t *testing.T, alg string, kid string, really jwa.SignatureAlgorithm, claims jsonMap) string {
	t.Helper()
	input := b64.EncodeToString(must(json.Marshal(map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"}))) + "." +
		b64.EncodeToString(must(json.Marshal(claims)))
	signer := must(jws.NewSigner(really))
	m.iss.mu.Lock()
	key := m.iss.private[kid]
	m.iss.mu.Unlock()
	return input + "." + b64.EncodeToString(must(signer.Sign([]byte(input), key)))
}

// The default verifier accepts an ES256 token of an ES256 key, as it accepts RS256 ones.
func TestVerifyAcceptsES256(t *testing.T) {
	m := newESMaker(t)
	for kid, alg := range map[string]jwa.SignatureAlgorithm{"k-es": jwa.ES256, "k-es-any": jwa.ES256, "k1": jwa.RS256} {
		if _, err := m.v.Verify(t.Context(), m.iss.sign(kid, alg, m.iss.claims(m.now))); err != nil {
			t.Errorf("%s %s: %v", alg, kid, err)
		}
	}
}

// Algorithm confusion: a token never chooses an algorithm other than its key's. The header's
// alg must be one the verifier accepts, the key's alg member (when it has one) must equal it,
// and the key must be of its type and curve.
func TestVerifyRefusesES256AlgorithmConfusion(t *testing.T) {
	m := newESMaker(t)
	claims := m.iss.claims(m.now)
	payload := must(json.Marshal(claims))
	hdr := func(alg, kid string) jws.Headers {
		return headers(map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"})
	}
	// HMAC with the EC public key as the secret, in each form an attacker could take it from.
	pubDER := must(x509.MarshalPKIXPublicKey(m.ec.Public()))
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK := must(json.Marshal(must(jwk.FromRaw(m.ec.Public()))))
	hmacWith := func(secret []byte) string {
		return string(must(jws.Sign(payload, jws.WithKey(jwa.HS256, secret, jws.WithProtectedHeaders(hdr("HS256", "k-es"))))))
	}
	// An ES256 signature in ASN.1 DER (what crypto/ecdsa.SignASN1 gives) instead of JWS's r‖s.
	digest := sha256.Sum256([]byte(strings.Join(strings.Split(m.iss.sign("k-es", jwa.ES256, claims), ".")[:2], ".")))
	der := must(ecdsa.SignASN1(rand.Reader, m.ec, digest[:]))
	parts := strings.Split(m.iss.sign("k-es", jwa.ES256, claims), ".")
	m.expectRejections(t, []rejection{
		{"alg none on an EC kid", unsigned(map[string]any{"alg": "none", "typ": "at+jwt", "kid": "k-es"}, claims), descAlgorithm},
		{"HS256, EC public key PEM as secret", hmacWith(pubPEM), descAlgorithm},
		{"HS256, EC public key DER as secret", hmacWith(pubDER), descAlgorithm},
		{"HS256, EC public JWK as secret", hmacWith(pubJWK), descAlgorithm},
		{"RS256 header on the EC key", m.craft(t, "RS256", "k-es", jwa.ES256, claims), descKeyMismatch},
		{"ES256 header on the RSA key", m.craft(t, "ES256", "k1", jwa.RS256, claims), descKeyMismatch},
		{"ES384 not allowed", m.iss.sign("k-es-any", jwa.ES384, claims), descAlgorithm},
		{"ES512 not allowed", m.iss.sign("k-es", jwa.ES512, claims), descAlgorithm},
		{"P-384 key declared ES256", m.craft(t, "ES256", "k-p384", jwa.ES384, claims), descKeyMismatch},
		{"ES256 by another P-256 key under our kid", string(must(jws.Sign(payload, jws.WithKey(jwa.ES256,
			must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)), jws.WithProtectedHeaders(hdr("ES256", "k-es")))))), descSignature},
		{"ES256 signature in ASN.1 DER", parts[0] + "." + parts[1] + "." + b64.EncodeToString(der), descSignature},
		{"ES256 signature flipped", parts[0] + "." + parts[1] + "." + flip(parts[2]), descSignature},
	})
}

// A verifier that accepts ES384 too still never verifies ES384 with a P-256 key whose JWK
// names no alg: the curve decides.
func TestVerifyTiesECDSAToTheCurve(t *testing.T) {
	m := newESMaker(t, func(c *Config) { c.Algorithms = []string{"ES256", "ES384"} })
	claims := m.iss.claims(m.now)
	m.expectRejections(t, []rejection{
		{"ES384 on a P-256 key without alg", m.craft(t, "ES384", "k-es-any", jwa.ES256, claims), descKeyMismatch},
		{"RS256 not configured", m.iss.sign("k1", jwa.RS256, claims), descAlgorithm},
	})
}
