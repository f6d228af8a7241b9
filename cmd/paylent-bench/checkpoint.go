package main

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/internal/keygen"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/keys"
)

// benchCheckpoint checkpoints a keys read model of n environments (a primary and a next
// key each, as real RSA-2048 material) while readers query it, three times, and prints
// duration, the heap and RSS above the model's own, and the readers' latencies beside the
// same readers with no checkpoint running (the ceiling).
func benchCheckpoint(ctx context.Context, n int, log *slog.Logger, out io.Writer) error {
	dir, err := os.MkdirTemp("", "paylent-bench-cp-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mk := make([]byte, signingkey.MasterKeySize)
	crand.Read(mk) //nolint:errcheck // crypto/rand does not fail
	log.Info("building the keys model", "environments", n)
	ring, err := keysModel(mk, n)
	if err != nil {
		return err
	}
	envs := make([]string, n)
	for i := range envs {
		envs[i] = envName(i)
	}
	runtime.GC()
	cps := projections.DirCheckpoints{Dir: dir}
	fmt.Fprintf(out, "| keys model, %d environments | run | checkpoint s | file MB | peak heap above model MB | peak RSS above start MB | read p50 µs | read p99 µs | read max ms | reads |\n", n)
	fmt.Fprintln(out, "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |")
	for run := 1; run <= 3; run++ {
		for _, during := range []bool{false, true} {
			if err := ctx.Err(); err != nil {
				return err
			}
			row, err := measureCheckpoint(ring, envs, cps, during)
			if err != nil {
				return err
			}
			name := "readers alone (ceiling)"
			if during {
				name = checkpointWriter + " checkpoint"
			}
			fmt.Fprintf(out, "| %s | %d | %s | %s | %s | %s | %.0f | %.0f | %.2f | %d |\n", name, run, row.secs, row.fileMB, row.heapMB, row.rssMB,
				row.p50, row.p99, row.max, row.reads)
		}
	}
	fmt.Fprintln(out)
	return nil
}

type checkpointRow struct {
	secs, fileMB, heapMB, rssMB string
	p50, p99, max               float64
	reads                       int
}

// measureCheckpoint runs two readers (Keys and Signer of random environments) for the time
// of one checkpoint (or, without one, for one second) while sampling heap and RSS.
func measureCheckpoint(ring *keys.Keyring, envs []string, cps projections.DirCheckpoints, during bool) (checkpointRow, error) {
	runtime.GC()
	baseHeap, baseRSS := heapBytes(), rssBytes()
	stop := make(chan struct{})
	var peakHeap, peakRSS atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() { sampleMemory(stop, &peakHeap, &peakRSS) })
	lat := make([][]time.Duration, 2)
	for r := range lat {
		wg.Go(func() { lat[r] = readLoop(stop, ring, envs, r == 1) })
	}
	time.Sleep(50 * time.Millisecond)
	row := checkpointRow{secs: "—", fileMB: "—", heapMB: "—", rssMB: "—"}
	if during {
		started := time.Now()
		if err := writeCheckpoint(ring, cps, 42, []byte{1, 2, 3}); err != nil {
			close(stop)
			wg.Wait()
			return row, err
		}
		row.secs = fmt.Sprintf("%.3f", time.Since(started).Seconds())
		if fi, err := os.Stat(filepath.Join(cps.Dir, keys.Name+".checkpoint.json")); err == nil {
			row.fileMB = fmt.Sprintf("%.1f", float64(fi.Size())/(1<<20))
		}
	} else {
		time.Sleep(time.Second)
	}
	close(stop)
	wg.Wait()
	if during {
		row.heapMB = fmt.Sprintf("%.1f", float64(int64(peakHeap.Load())-int64(baseHeap))/(1<<20))
		row.rssMB = fmt.Sprintf("%.1f", float64(int64(peakRSS.Load())-int64(baseRSS))/(1<<20))
	}
	all := slices.Concat(lat[0], lat[1])
	slices.Sort(all)
	if len(all) > 0 {
		row.p50 = float64(all[len(all)/2].Microseconds())
		row.p99 = float64(all[len(all)*99/100].Microseconds())
		row.max = float64(all[len(all)-1].Microseconds()) / 1000
	}
	row.reads = len(all)
	return row, nil
}

// readLoop reads random environments until stop, pausing 100 µs between reads (a steady
// load rather than a spin), and returns each read's latency.
func readLoop(stop chan struct{}, ring *keys.Keyring, envs []string, signer bool) []time.Duration {
	var out []time.Duration
	for {
		select {
		case <-stop:
			return out
		default:
		}
		env := envs[rand.IntN(len(envs))]
		t := time.Now()
		if signer {
			ring.Signer(env) //nolint:errcheck // the latency is what is measured
		} else {
			ring.Keys(env)
		}
		out = append(out, time.Since(t))
		time.Sleep(100 * time.Microsecond)
	}
}

func sampleMemory(stop chan struct{}, heap, rss *atomic.Uint64) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		for v, peak := range map[uint64]*atomic.Uint64{heapBytes(): heap, rssBytes(): rss} {
			if v > peak.Load() {
				peak.Store(v)
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func rssBytes() uint64 {
	f := strings.Fields(procField("/proc/self/status", "VmRSS"))
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseUint(f[0], 10, 64)
	return kb << 10
}

func envName(i int) string { return fmt.Sprintf("tenant-%05d", i) }

// keysModel applies, per environment, the events of a creation with a primary and a next
// key. The material is 16 real RSA-2048 keys (sealed, public JWK), reused under distinct
// kids: the sizes are real, the generation is not what is measured here.
func keysModel(mk []byte, n int) (*keys.Keyring, error) {
	mats, err := keygen.Generate(mk, nil, 16)
	if err != nil {
		return nil, err
	}
	ring := keys.New(mk)
	at := time.Now().UTC()
	var pos int64
	apply := func(env string, e domain.Event) error {
		pos++
		return ring.Apply(domain.Record{Envelope: domain.Envelope{Position: pos, Environment: env,
			Stream: signingkey.Stream(env).Stream, OccurredAt: at}, Event: e})
	}
	for i := range n {
		env := envName(i)
		for j, role := range []string{"p", "n"} {
			m := mats[(2*i+j)%len(mats)]
			kid := fmt.Sprintf("%s-%s-%s", m.KID[:20], env, role)
			if err := apply(env, signingkey.Created{KID: kid, Alg: signingkey.Alg, PublicJWK: m.PublicJWK,
				PrivateKey: m.SealedPrivate, Role: signingkey.RoleNext}); err != nil {
				return nil, err
			}
			if j == 0 {
				if err := apply(env, signingkey.Promoted{KID: kid}); err != nil {
					return nil, err
				}
			}
		}
	}
	return ring, nil
}
