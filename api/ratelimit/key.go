package ratelimit

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// maxReadableKey is the longest escaped key stored as such; longer ones are hashed.
const maxReadableKey = 128

// storeKey maps a caller's key to a NATS KV key, injectively. KV keys allow only
// [-/_=.a-zA-Z0-9] and a dot separates subject tokens, so every byte outside [-a-zA-Z0-9]
// becomes _XX (upper-case hex): "token:acme-test:2001:db8::1" is stored as
// "token_3Aacme-test_3A2001_3Adb8_3A_3A1", which an operator can still read and delete
// to lift a limit. A key longer than maxReadableKey once escaped is stored as "=" and the
// unpadded base64url SHA-256 of the key; the escaped form never contains "=", so the two
// forms cannot collide. The result is always a fresh string, never the caller's (which
// may be a fasthttp buffer).
func storeKey(key string) string {
	var b strings.Builder
	b.Grow(len(key) + 8)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if plain(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0x0f])
		}
		if b.Len() > maxReadableKey {
			sum := sha256.Sum256([]byte(key))
			return "=" + base64.RawURLEncoding.EncodeToString(sum[:])
		}
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func plain(c byte) bool {
	return c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
