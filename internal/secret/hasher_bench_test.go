package secret

import (
	"fmt"
	"testing"
)

// Argon2id's raw cost per hash for OWASP's equivalent configurations and the earlier
// default: go test -run '^$' -bench Argon2id ./internal/secret/
func BenchmarkArgon2id(b *testing.B) {
	for _, p := range []PasswordParams{
		{MemoryKiB: 46 * 1024, Time: 1, Threads: 1},
		{MemoryKiB: 19 * 1024, Time: 2, Threads: 1},
		{MemoryKiB: 12 * 1024, Time: 3, Threads: 1},
		{MemoryKiB: 64 * 1024, Time: 2, Threads: 2}, // the earlier default
	} {
		b.Run(fmt.Sprintf("m=%dMiB,t=%d,p=%d", p.MemoryKiB/1024, p.Time, p.Threads), func(b *testing.B) {
			salt := newSalt()
			for b.Loop() {
				argon2id([]byte("correct horse battery"), salt, p, 32)
			}
		})
	}
}

// The ceiling beside the hasher: raw Argon2id with DefaultPasswordParams on every core at
// once (no bound), then the same load through the hasher (bounded).
func BenchmarkParallelHashes(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		salt := newSalt()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				argon2id([]byte("correct horse battery"), salt, DefaultPasswordParams, 32)
			}
		})
	})
	b.Run("hasher", func(b *testing.B) {
		h := NewHasher(HasherConfig{MaxWaiting: 1 << 20, MaxWait: 1 << 40})
		b.SetParallelism(8) // more callers than turns: they queue
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := h.Hash(b.Context(), "correct horse battery"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
