package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/keygen"
)

const tenantsUsage = `usage: paylent-bench tenants [flags]

tenants measures, each beside a ceiling measured in the same run:
  creation     N environments created through the operation, on a private PostgreSQL
               (durable settings): ES256 keys inline (primary and next; primary only),
               then (unless --rsa=false) the former way (two RSA keys inline), the
               primary only with no pool, with a pool of N keys made ahead, with the
               default pool (64, refilling); ceilings: RSA-2048 and ES256 keys/s on every
               core, and environment.created appended alone (no keys)
  server       a real paylent serve (embedded default) grown to each --server-envs count
               (environments appended by the bench, attached to its PostgreSQL): RSS per
               idle environment, PostgreSQL size, discovery/JWKS/token p50/p99 on the
               first and the last environment beside /healthz, restart-to-ready
  checkpoint   the keys read model of M environments checkpointed to a file: duration,
               peak heap and RSS above the model's own, and reads during it (Keys and
               Signer of random environments) beside the same reads with no checkpoint

flags:
`

type tenantsConfig struct {
	envs, inlineEnvs, esEnvs, concurrency, checkpointEnvs int
	only, serverEnvs                                      string
	rsa                                                   bool
}

func runTenants(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paylent-bench tenants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg tenantsConfig
	fs.IntVar(&cfg.envs, "envs", 1000, "environments created by the ceiling row and the row with a pool filled ahead")
	fs.IntVar(&cfg.inlineEnvs, "inline-envs", 200, "environments created by the rows that generate keys inline (bound by RSA)")
	fs.IntVar(&cfg.esEnvs, "es256-envs", 2000, "environments created by each ES256 row (keys inline, no pool: the sustained rate)")
	fs.BoolVar(&cfg.rsa, "rsa", true, "run the RSA rows too (false: the ceiling and the ES256 rows only)")
	fs.IntVar(&cfg.concurrency, "concurrency", 4, "concurrent creators")
	fs.IntVar(&cfg.checkpointEnvs, "checkpoint-envs", 10_000, "environments in the keys model of the checkpoint benchmark")
	fs.StringVar(&cfg.only, "only", "", "creation, checkpoint or server (default all three)")
	fs.StringVar(&cfg.serverEnvs, "server-envs", "1000,10000", "environment counts the server is grown to, in order")
	fs.Usage = func() { fmt.Fprint(fs.Output(), tenantsUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || cfg.envs < 1 || cfg.inlineEnvs < 1 || cfg.esEnvs < 1 || cfg.concurrency < 1 || cfg.checkpointEnvs < 1 {
		return fmt.Errorf("bad arguments: want --envs, --inline-envs, --es256-envs, --concurrency, --checkpoint-envs >= 1 and nothing else")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fmt.Fprintf(stdout, "Machine: %d CPUs, %s; %s %s/%s; %s\n\n", runtime.NumCPU(), procField("/proc/cpuinfo", "model name"),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	if cfg.only == "" || cfg.only == "creation" {
		if err := benchCreation(ctx, cfg, log, stdout); err != nil {
			return err
		}
	}
	if cfg.only == "" || cfg.only == "checkpoint" {
		if err := benchCheckpoint(ctx, cfg.checkpointEnvs, log, stdout); err != nil {
			return err
		}
	}
	if cfg.only == "" || cfg.only == "server" {
		var counts []int
		for _, f := range strings.Split(cfg.serverEnvs, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || len(counts) > 0 && n <= counts[len(counts)-1] {
				return fmt.Errorf("--server-envs %q: want increasing counts, e.g. 1000,10000", cfg.serverEnvs)
			}
			counts = append(counts, n)
		}
		return benchServer(ctx, counts, log, stdout)
	}
	return nil
}

// creationRow is one way of creating environments, timed over n of them; pool (if any) is
// filled with fill keys beforehand, and refills during the row when refill is set.
type creationRow struct {
	name   string
	n      int
	pool   *keygen.Pool
	fill   int
	refill bool
	create func(ctx context.Context, slug string) error
}

func benchCreation(ctx context.Context, cfg tenantsConfig, log *slog.Logger, out io.Writer) error {
	b, err := startBench(ctx, log)
	if err != nil {
		return err
	}
	defer b.close()
	pool, err := b.database(ctx, "bench_tenants", int32(cfg.concurrency+4))
	if err != nil {
		return err
	}
	defer pool.Close()
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{Logger: slog.New(slog.DiscardHandler)})
	defer store.Close()
	loop := eventstore.NewLoop(store, eventtypes.Registry(), time.Now)
	mk := make([]byte, signingkey.MasterKeySize)
	rand.Read(mk) //nolint:errcheck // crypto/rand does not fail

	log.Info("measuring", "benchmark", "key generation", "for", 10*time.Second)
	rsaPerSec := keyCeiling(ctx, mk, environment.SigningRS256, 5*time.Second)
	esPerSec := keyCeiling(ctx, mk, environment.SigningES256, 5*time.Second)
	fmt.Fprintf(out, "Ceilings: %.1f RSA-2048 keys/s and %.0f ES256 (P-256) keys/s generated and sealed on %d goroutines (keygen.MaterialFor, 5 s each); load average %s.\n\n",
		rsaPerSec, esPerSec, runtime.NumCPU(), loadAverage())
	fmt.Fprintf(out, "| creation, %d concurrent | environments | seconds | environments/s | vs ceiling | notes |\n| --- | --: | --: | --: | --: | --- |\n",
		cfg.concurrency)
	var ceiling float64
	for i, row := range creationRows(store, loop, mk, cfg) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Info("measuring", "benchmark", row.name, "environments", row.n)
		rate, note, err := timeRow(ctx, row, cfg.concurrency, fmt.Sprintf("r%d-", i))
		if err != nil {
			return fmt.Errorf("%s: %w", row.name, err)
		}
		ratio := "(ceiling)"
		if i == 0 {
			ceiling = rate
		} else {
			ratio = fmt.Sprintf("%.2f×", rate/ceiling)
		}
		fmt.Fprintf(out, "| %s | %d | %.1f | %.1f | %s | %s |\n", row.name, row.n, float64(row.n)/rate, rate, ratio, note)
	}
	fmt.Fprintf(out, "\nLoad average after the rows: %s.\n\n", loadAverage())
	return nil
}

func creationRows(store *eventstore.Postgres, loop *eventstore.Loop, mk []byte, cfg tenantsConfig) []creationRow {
	actor := domain.Actor{Kind: domain.ActorOperator, ID: "bench"}
	big := keygen.NewPool(keygen.PoolOptions{MasterKey: mk, Size: cfg.envs, Workers: runtime.NumCPU()})
	small := keygen.NewPool(keygen.PoolOptions{MasterKey: mk, Size: 64, Workers: 1})
	ops := app.New(app.Options{Loop: loop, MasterKey: mk})
	es256 := func(next bool) func(context.Context, string) error {
		return func(ctx context.Context, slug string) error {
			_, err := ops.CreateEnvironment(ctx, app.CreateEnvironment{Account: "bench", Slug: slug, WithNextKey: next,
				SigningAlg: environment.SigningES256}, actor)
			return err
		}
	}
	rows := []creationRow{
		{name: "environment.created alone, no keys (ceiling)", n: cfg.envs, create: func(ctx context.Context, slug string) error {
			return rawCreate(ctx, store, slug)
		}},
		{name: "ES256, inline: primary and next in the creation's append (no pool, nothing left to the background)", n: cfg.esEnvs,
			create: es256(true)},
		{name: "ES256, inline: primary only (no pool; the key manager adds the next)", n: cfg.esEnvs, create: es256(false)},
	}
	if !cfg.rsa {
		return rows
	}
	return append(rows, []creationRow{
		{name: "former: primary and next generated inline", n: cfg.inlineEnvs, create: func(ctx context.Context, slug string) error {
			_, err := ops.CreateEnvironment(ctx, app.CreateEnvironment{Account: "bench", Slug: slug, WithNextKey: true}, actor)
			return err
		}},
		{name: "primary only, no pool (inline)", n: cfg.inlineEnvs, create: createWith(ops, actor)},
		{name: fmt.Sprintf("primary from a pool of %d, filled ahead, no refill during the row", cfg.envs), n: cfg.envs, pool: big, fill: cfg.envs,
			create: createWith(app.New(app.Options{Loop: loop, MasterKey: mk, KeyPool: big}), actor)},
		{name: "primary from the default pool (64, 1 refill goroutine)", n: cfg.inlineEnvs, pool: small, fill: 64, refill: true,
			create: createWith(app.New(app.Options{Loop: loop, MasterKey: mk, KeyPool: small}), actor)},
	}...)
}

// rawCreate appends what creating an environment without keys appends (its account's
// creation on first use, environment.created), straight to the store: the ceiling, with no
// command loop and no decision.
func rawCreate(ctx context.Context, store *eventstore.Postgres, slug string) error {
	cmd := environment.Create{Account: "bench", Slug: slug}
	out, err := cmd.Decide([][]domain.Event{nil, nil}, time.Now())
	if err != nil {
		return err
	}
	reg := eventtypes.Registry()
	var appends []eventstore.StreamAppend
	for i, ref := range cmd.Streams() {
		a := eventstore.StreamAppend{Environment: ref.Environment, Stream: ref.Stream, ExpectedVersion: eventstore.ExpectAny}
		for _, e := range out[i] {
			typ, ver, data, err := reg.Encode(e)
			if err != nil {
				return err
			}
			a.Events = append(a.Events, eventstore.NewEvent{Type: typ, SchemaVersion: ver, Data: data, OccurredAt: time.Now()})
		}
		if len(a.Events) > 0 {
			appends = append(appends, a)
		}
	}
	_, err = store.Append(ctx, appends...)
	return err
}

// timeRow fills the row's pool (untimed), then creates its environments and returns the rate.
func timeRow(ctx context.Context, row creationRow, conc int, prefix string) (float64, string, error) {
	note, stop := "", func() {}
	if row.pool != nil {
		started := time.Now()
		var err error
		if stop, err = fillPool(ctx, row.pool, row.fill); err != nil {
			return 0, "", err
		}
		note = fmt.Sprintf("%d keys made ahead in %.1f s (untimed); ", row.fill, time.Since(started).Seconds())
		if !row.refill {
			stop()
			stop = func() {}
		}
	}
	took, err := createMany(ctx, row.n, conc, prefix, row.create)
	stop()
	if row.pool != nil {
		s := row.pool.Stats()
		note += fmt.Sprintf("%d keys from the pool, %d generated inline", s.Taken, s.Inline)
	}
	return float64(row.n) / took.Seconds(), note, err
}

func createWith(ops *app.App, actor domain.Actor) func(context.Context, string) error {
	return func(ctx context.Context, slug string) error {
		_, err := ops.CreateEnvironment(ctx, app.CreateEnvironment{Account: "bench", Slug: slug}, actor)
		return err
	}
}

// createMany creates n environments named prefix+i from conc goroutines.
func createMany(ctx context.Context, n, conc int, prefix string, create func(context.Context, string) error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	started := time.Now()
	for range conc {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if err := create(ctx, fmt.Sprintf("%s%d", prefix, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(started)
	select {
	case err := <-errs:
		return took, err
	default:
		return took, ctx.Err()
	}
}

// fillPool runs p in the background until it holds n keys; it keeps refilling until stop.
func fillPool(ctx context.Context, p *keygen.Pool, n int) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }() //nolint:errcheck // Run returns nil
	stop = func() { cancel(); <-done }
	for p.Stats().Available < n {
		if err := ctx.Err(); err != nil {
			stop()
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return stop, nil
}

// keyCeiling is how many keys of alg keygen.MaterialFor makes per second on every core.
func keyCeiling(ctx context.Context, mk []byte, alg string, d time.Duration) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	started := time.Now()
	for range runtime.NumCPU() {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err := keygen.MaterialFor(alg, mk, nil); err == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(started).Seconds()
}
