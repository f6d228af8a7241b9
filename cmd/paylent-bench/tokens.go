package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/tokens"
)

const tokensUsage = `usage: paylent-bench tokens [flags]

tokens measures the tokens read model (in memory; no PostgreSQL), each beside a ceiling
measured in the same run:
  memory      heap bytes per live token: runtime.ReadMemStats after GC, before and after
              replaying N tokens (all live at the end)
  rebuild     events/s replaying the log into an empty model (projections.Replay from an
              in-memory store: every event decoded), with every token live at the end and
              with tokens that expire during the replay (--churn-ttl); ceiling: the same
              replay into a model that does nothing but decode
  checkpoint  the model of N tokens written to a checkpoint file (as the runtime does) and
              restored from it: seconds, file size, peak heap above the model; ceiling:
              as many bytes written through the same buffered, fsynced file

flags:
`

type tokensConfig struct {
	tokens, runs int
	churnTTL     time.Duration
	budget       time.Duration
}

func runTokens(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paylent-bench tokens", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg tokensConfig
	fs.IntVar(&cfg.tokens, "tokens", 100_000, "tokens issued in the log (at most 2,000,000)")
	fs.IntVar(&cfg.runs, "runs", 3, "runs of each timed row (at most 10)")
	fs.DurationVar(&cfg.churnTTL, "churn-ttl", time.Minute, "token lifetime of the churn log (events are 10 ms apart)")
	fs.DurationVar(&cfg.budget, "budget", 10*time.Minute, "the whole benchmark stops after this long")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tokensUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || cfg.tokens < 1000 || cfg.tokens > 2_000_000 || cfg.runs < 1 || cfg.runs > 10 || cfg.churnTTL <= 0 {
		return fmt.Errorf("bad arguments: want 1000 <= --tokens <= 2000000, 1 <= --runs <= 10, --churn-ttl > 0")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.budget)
	defer cancel()
	return benchTokens(ctx, cfg, stdout, stderr)
}

func benchTokens(ctx context.Context, cfg tokensConfig, out, progress io.Writer) error {
	reg := eventtypes.Registry()
	fmt.Fprintf(out, "tokens read model, %s, load average %s, GOMAXPROCS %d, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"),
		loadAverage(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(progress, "building the log of %d tokens (all live at its end)\n", cfg.tokens)
	live, events, err := tokensLog(ctx, reg, cfg.tokens, 24*time.Hour)
	if err != nil {
		return err
	}
	if err := tokensModelRows(ctx, reg, live, cfg, out, progress); err != nil { // its model is garbage after
		return err
	}
	fmt.Fprintf(progress, "building the churn log (tokens live %s)\n", cfg.churnTTL)
	churn, churnEvents, err := tokensLog(ctx, reg, cfg.tokens, cfg.churnTTL)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "timing rebuilds\n")
	return tokensRebuild(ctx, reg, cfg.runs, out, []rebuildLog{{"all live", live, events},
		{"churn (" + cfg.churnTTL.String() + " lifetime)", churn, churnEvents}})
}

func tokensModelRows(ctx context.Context, reg *domain.Registry, live *eventstore.Memory, cfg tokensConfig, out, progress io.Writer) error {
	model, err := tokensMemory(ctx, reg, live, cfg.tokens, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "timing checkpoints\n")
	return tokensCheckpoint(ctx, model, cfg.runs, out)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// tokensMemory replays the log into an empty model and reports the heap it holds.
func tokensMemory(ctx context.Context, reg *domain.Registry, log *eventstore.Memory, n int, out io.Writer) (*tokens.Store, error) {
	before := heapAfterGC()
	m := tokens.New()
	if _, _, err := projections.Replay(ctx, log, reg, m); err != nil {
		return nil, err
	}
	after := heapAfterGC()
	last := benchToken(n-1, tokensLogStart, 0)
	env := []string{"bench-a", "bench-b"}[(n-1)%2]
	if tok, ok := m.ByHash(env, last.TokenHash); !ok || tok.JTI != last.JTI {
		return nil, fmt.Errorf("the model does not know the log's last token")
	}
	fmt.Fprintln(out, "| memory | live tokens | heap above the empty model MB | bytes per live token |")
	fmt.Fprintln(out, "| --- | --: | --: | --: |")
	grown := int64(after) - int64(before)
	fmt.Fprintf(out, "| tokens model | %d | %.1f | %.0f |\n\n", n, float64(grown)/(1<<20), float64(grown)/float64(n))
	return m, nil
}

type rebuildLog struct {
	name   string
	log    *eventstore.Memory
	events int
}

// decodeOnly is the rebuild ceiling: a projection that keeps nothing (Replay decodes
// every event before it calls Apply).
type decodeOnly struct{ applied int }

func (d *decodeOnly) Name() string                { return "decode-only" }
func (d *decodeOnly) New() projections.Projection { return &decodeOnly{} }
func (d *decodeOnly) Apply(domain.Record) error   { d.applied++; return nil }
func (d *decodeOnly) Snapshot() ([]byte, error)   { return nil, nil }
func (d *decodeOnly) Restore([]byte) error        { return nil }

func tokensRebuild(ctx context.Context, reg *domain.Registry, runs int, out io.Writer, logs []rebuildLog) error {
	fmt.Fprintln(out, "| rebuild | log | events | run | seconds | events/s | CPU seconds | events per CPU second |")
	fmt.Fprintln(out, "| --- | --- | --: | --: | --: | --: | --: | --: |")
	var medians []string
	for _, l := range logs {
		rates, perCPU := map[string][]float64{}, map[string][]float64{}
		for run := 1; run <= runs; run++ {
			for _, p := range []projections.Projection{&decodeOnly{}, tokens.New()} {
				runtime.GC()
				start, cpu := time.Now(), cpuSeconds()
				if _, _, err := projections.Replay(ctx, l.log, reg, p); err != nil {
					return err
				}
				secs, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu
				name := "tokens model"
				if _, ok := p.(*decodeOnly); ok {
					name = "decode only (ceiling)"
				}
				fmt.Fprintf(out, "| %s | %s | %d | %d | %.2f | %.0f | %.2f | %.0f |\n", name, l.name, l.events, run, secs, float64(l.events)/secs,
					cpu, float64(l.events)/cpu)
				rates[name] = append(rates[name], float64(l.events)/secs)
				perCPU[name] = append(perCPU[name], float64(l.events)/cpu)
			}
		}
		for _, name := range []string{"decode only (ceiling)", "tokens model"} {
			medians = append(medians, fmt.Sprintf("| %s | %s | %.0f | %.0f |", name, l.name, median(rates[name]), median(perCPU[name])))
		}
	}
	fmt.Fprintf(out, "\n| rebuild, median of %d runs | log | events/s | events per CPU second |\n| --- | --- | --: | --: |\n%s\n\n",
		runs, strings.Join(medians, "\n"))
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// tokensCheckpoint writes m's checkpoint as projections.Runtime does, restores it into a
// fresh model, and writes as many bytes through the same file store (the ceiling).
func tokensCheckpoint(ctx context.Context, m *tokens.Store, runs int, out io.Writer) error {
	dir, err := os.MkdirTemp("", "paylent-bench-tokens-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cps := projections.DirCheckpoints{Dir: dir}
	fmt.Fprintln(out, "| checkpoint | run | seconds | file MB | peak heap above the model MB | same at GOGC=10 MB | allocated MB |")
	fmt.Fprintln(out, "| --- | --: | --: | --: | --: | --: | --: |")
	for run := 1; run <= runs; run++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		write := func() error {
			return cps.Write(tokens.Name, 42, []byte{1}, func(w io.Writer) error { return projections.WriteState(m, w) })
		}
		row, err := measureRow(write)
		if err != nil {
			return err
		}
		fi, err := os.Stat(filepath.Join(dir, tokens.Name+".checkpoint.json"))
		if err != nil {
			return err
		}
		mb := float64(fi.Size()) / (1 << 20)
		fmt.Fprintf(out, "| write (tokens model) | %d | %.2f | %.1f | %s |\n", run, row.secs, mb, row)
		if row, err = measureRow(func() error { return rawWrite(cps, fi.Size()) }); err != nil {
			return err
		}
		fmt.Fprintf(out, "| write the same bytes, no model (ceiling) | %d | %.2f | %.1f | %s |\n", run, row.secs, mb, row)
		var restored *tokens.Store
		if row, err = measureRow(func() error { restored, err = restoreTokens(cps); return err }); err != nil {
			return err
		}
		fmt.Fprintf(out, "| restore into an empty model (peak includes the new model) | %d | %.2f | %.1f | %s |\n", run, row.secs, mb, row)
		runtime.KeepAlive(restored)
	}
	fmt.Fprintln(out)
	return nil
}

func restoreTokens(cps projections.DirCheckpoints) (*tokens.Store, error) {
	f, ok, err := cps.Open(tokens.Name)
	if err != nil || !ok {
		return nil, fmt.Errorf("open the checkpoint: %v %v", ok, err)
	}
	defer f.State.Close()
	m := tokens.New()
	return m, projections.RestoreState(m, f.State)
}

// rawWrite writes size bytes of a checkpoint through cps from one 64 KiB block.
func rawWrite(cps projections.DirCheckpoints, size int64) error {
	block := make([]byte, 64<<10)
	for i := range block {
		block[i] = 'x'
	}
	return cps.Write("ceiling", 42, []byte{1}, func(w io.Writer) error {
		for left := size; left > 0; left -= int64(len(block)) {
			if _, err := w.Write(block[:min(left, int64(len(block)))]); err != nil {
				return err
			}
		}
		return nil
	})
}

type memRow struct{ secs, peak, peakLowGC, allocated float64 }

func (r memRow) String() string {
	return fmt.Sprintf("%.1f | %.1f | %.1f", r.peak, r.peakLowGC, r.allocated)
}

// measureRow runs f twice: timed, with its peak heap and the bytes it allocated, at the
// process's GOGC; then at GOGC=10 for the peak heap alone (garbage is collected early, so
// the peak is near what f holds at once).
func measureRow(f func() error) (memRow, error) {
	var r memRow
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	secs, peak, err := withPeakHeap(f)
	if err != nil {
		return r, err
	}
	runtime.ReadMemStats(&after)
	r.secs, r.peak, r.allocated = secs, peak, float64(after.TotalAlloc-before.TotalAlloc)/(1<<20)
	old := debug.SetGCPercent(10)
	_, r.peakLowGC, err = withPeakHeap(f)
	debug.SetGCPercent(old)
	return r, err
}

// withPeakHeap runs f while sampling the heap every 2 ms; returns f's seconds and the
// peak heap above the heap before f, in MB.
func withPeakHeap(f func() error) (float64, float64, error) {
	base := heapAfterGC()
	stop := make(chan struct{})
	var peakHeap, peakRSS atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() { sampleMemory(stop, &peakHeap, &peakRSS) })
	start := time.Now()
	err := f()
	secs := time.Since(start).Seconds()
	close(stop)
	wg.Wait()
	return secs, float64(int64(peakHeap.Load())-int64(base)) / (1 << 20), err
}
