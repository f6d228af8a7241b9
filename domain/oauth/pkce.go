package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE (RFC 7636). Only S256 is accepted: plain protects nothing against an attacker who
// can read the authorization request (RFC 9700 §2.1.1).
const PKCEMethodS256 = "S256"

// ValidPKCEValue checks a code verifier or challenge: 43 to 128 characters of
// [A-Z] [a-z] [0-9] "-" "." "_" "~" (RFC 7636 §4.1).
func ValidPKCEValue(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256Challenge is the S256 challenge of a verifier: BASE64URL(SHA256(verifier)).
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifyPKCE checks a verifier against an S256 challenge in constant time.
func VerifyPKCE(challenge, verifier string) bool {
	if !ValidPKCEValue(verifier) {
		return false
	}
	got := S256Challenge(verifier)
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
