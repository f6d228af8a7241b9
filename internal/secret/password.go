package secret

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are Argon2id's cost parameters.
type PasswordParams struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultPasswordParams are the first of OWASP's equivalent Argon2id configurations
// (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1). On the reference machine one hash
// costs about 20 ms of one core (docs/BENCHMARKS.md); the hasher bounds how many run at
// once. Hashes made with the earlier m=64 MiB, t=2, p=2 still verify: a PHC string carries
// its parameters.
var DefaultPasswordParams = PasswordParams{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// ErrBadHash: a stored password hash that cannot be read.
var ErrBadHash = errors.New("unreadable password hash")

// argon2id is the raw computation.
func argon2id(password, salt []byte, p PasswordParams, keyLen uint32) []byte {
	return argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
}

// newSalt returns 16 random bytes.
func newSalt() []byte {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // never fails
	return b
}

// encodePHC returns the PHC string $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>.
func encodePHC(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decoded is a readable PHC string.
type decoded struct {
	params    PasswordParams
	salt, key []byte
}

func (d decoded) matches(got []byte) bool { return subtle.ConstantTimeCompare(got, d.key) == 1 }

// decodePHC reads a PHC string, refusing parameters outside sane bounds (a stored hash
// cannot make a verification cost more than 1 GiB or 20 passes).
func decodePHC(encoded string) (decoded, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return decoded{}, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return decoded{}, ErrBadHash
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil ||
		p.MemoryKiB < 8 || p.MemoryKiB > 1<<20 || p.Time < 1 || p.Time > 20 || p.Threads < 1 {
		return decoded{}, ErrBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) < 16 || len(key) > 64 {
		return decoded{}, ErrBadHash
	}
	return decoded{params: p, salt: salt, key: key}, nil
}

// NeedsRehash reports whether a stored hash uses other parameters than p.
func NeedsRehash(encoded string, p PasswordParams) bool {
	want := fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, p.Threads)
	parts := strings.Split(encoded, "$")
	return len(parts) != 6 || parts[3] != want
}
