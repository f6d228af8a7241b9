package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// Random returns n random bytes in unpadded base64url.
func Random(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ID returns a random identifier: 16 bytes (128 bits), base64url, 22 characters.
func ID() string { return Random(16) }

// Token returns a random secret value: 32 bytes (256 bits), base64url, 43 characters.
func Token() string { return Random(32) }

// Hash is the hex SHA-256 of a secret value: how client secrets, opaque tokens, refresh
// tokens, codes and session tokens are stored.
func Hash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// Equal compares a presented secret with a stored hash in constant time.
func Equal(presented, storedHash string) bool {
	h := Hash(presented)
	return len(storedHash) == len(h) && subtle.ConstantTimeCompare([]byte(h), []byte(storedHash)) == 1
}
