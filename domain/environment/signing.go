package environment

import (
	"slices"
	"strings"

	"github.com/paylent/paylent/domain"
)

// Signing algorithms an environment's keys may have (JWS "alg" values).
const (
	// SigningRS256 is RSASSA-PKCS1-v1_5 with SHA-256 over RSA-2048 keys: the default, and
	// the algorithm OpenID Connect Discovery requires every provider to support.
	SigningRS256 = "RS256"
	// SigningES256 is ECDSA over P-256 with SHA-256: keys are generated in microseconds and
	// sign many times faster, but clients must accept ES256 (an explicit tenant choice).
	SigningES256 = "ES256"
)

// SigningAlgs are the algorithms an environment may be created with, the default first.
var SigningAlgs = []string{SigningRS256, SigningES256}

// SigningAlgOf is alg, or the default (RS256) when alg is empty.
func SigningAlgOf(alg string) string {
	if alg == "" {
		return SigningRS256
	}
	return alg
}

// ValidateSigningAlg refuses an algorithm that is not one of SigningAlgs (exact spelling).
func ValidateSigningAlg(alg string) error {
	if !slices.Contains(SigningAlgs, alg) {
		return domain.Invalid("signing_alg", "must be one of %s", strings.Join(SigningAlgs, ", "))
	}
	return nil
}
