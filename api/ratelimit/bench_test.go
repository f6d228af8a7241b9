package ratelimit

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/internal/natstest"
)

// BenchmarkAllow measures one instance deciding from 8 goroutines per CPU (as concurrent
// HTTP requests would) against an embedded NATS on loopback:
//   - new-keys: every request from a new caller (read miss + Create), as a spread of
//     client IPs hitting the token endpoint;
//   - hot-keys: 64 callers far below their limit (read + Update of a growing log), with
//     this process's requests for one key queueing on its local lock;
//   - refused: one caller over its limit, answered by the local fast path.
//
// Each runs on file storage (the default) and memory storage.
func BenchmarkAllow(b *testing.B) {
	for _, st := range []struct {
		name    string
		storage jetstream.StorageType
	}{{"file", jetstream.FileStorage}, {"memory", jetstream.MemoryStorage}} {
		s := natstest.Start(b)
		l := newLimiter(b, connect(b, s.ClientURL()), Options{Storage: st.storage})
		var seq atomic.Int64
		run := func(b *testing.B, key func() string, limit int, wantAllowed bool) {
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					d, err := l.Allow(b.Context(), key(), limit, time.Minute)
					if err != nil || d.Allowed != wantAllowed {
						b.Errorf("%+v, %v", d, err)
						return
					}
				}
			})
		}
		b.Run(st.name+"/new-keys", func(b *testing.B) {
			run(b, func() string { return "token:bench:" + strconv.FormatInt(seq.Add(1), 10) }, 10, true)
		})
		b.Run(st.name+"/hot-keys", func(b *testing.B) {
			run(b, func() string { return "management:bench:" + strconv.FormatInt(seq.Add(1)%64, 10) }, 1<<30, true)
		})
		b.Run(st.name+"/refused", func(b *testing.B) {
			for range 10 {
				l.Allow(b.Context(), "login:bench:flood", 10, time.Minute) //nolint:errcheck // filling the budget
			}
			run(b, func() string { return "login:bench:flood" }, 10, false)
		})
	}
}
