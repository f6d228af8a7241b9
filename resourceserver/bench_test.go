package resourceserver

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// The verifier with a warm key cache against bare verifications of the same token:
//
//	go test -run '^$' -bench . -benchmem ./resourceserver/
//
// Verify (RS256 + header, claims and deny-list checks) should stay within 20% of BareJWS
// (jws.Verify with the key in hand: parse + signature, no claims).
func benchSetup(b *testing.B) (*Verifier, string, *rsa.PublicKey) {
	iss := newIssuer(b)
	iss.publish("k1", 0)
	v := iss.verifier(nil)
	tok := iss.sign("k1", jwa.RS256, iss.claims(time.Now()))
	mustVerify(b, v, tok)
	return v, tok, &testKey(b, 0).PublicKey
}

func BenchmarkVerify(b *testing.B) {
	v, tok, _ := benchSetup(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyWithDenyList(b *testing.B) {
	v, tok, _ := benchSetup(b)
	now := time.Now()
	for i := range 10000 {
		v.denied.add("revoked-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), now.Add(time.Hour), now)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareJWS(b *testing.B) {
	_, tok, pub := benchSetup(b)
	raw := []byte(tok)
	for b.Loop() {
		if _, err := jws.Verify(raw, jws.WithKey(jwa.RS256, pub)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareJWTParse(b *testing.B) {
	_, tok, pub := benchSetup(b)
	raw := []byte(tok)
	for b.Loop() {
		if _, err := jwt.Parse(raw, jwt.WithKey(jwa.RS256, pub), jwt.WithValidate(true)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSAOnly is the floor: SHA-256 and the RSA verification, nothing else.
func BenchmarkRSAOnly(b *testing.B) {
	_, tok, pub := benchSetup(b)
	i := strings.LastIndexByte(tok, '.')
	sig := must(b64.DecodeString(tok[i+1:]))
	for b.Loop() {
		h := sha256.Sum256([]byte(tok[:i]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	v, tok, _ := benchSetup(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkBareJWSParallel(b *testing.B) {
	_, tok, pub := benchSetup(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256, pub)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
