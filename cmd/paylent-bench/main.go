// Command paylent-bench measures Paylent, each number beside a ceiling measured in the same
// run. docs/BENCHMARKS.md records its results.
//
//	go run ./cmd/paylent-bench core [--events N] [--duration D] [--appenders N] [--json]
//	go run ./cmd/paylent-bench protocol [--duration D] [--json]
//	go run ./cmd/paylent-bench tenants [--envs N] [--checkpoint-envs M]
//	go run ./cmd/paylent-bench tokens [--tokens N] [--runs R]
//
// core measures the event-sourced core on a private PostgreSQL cluster (durable default
// settings) and an embedded NATS server; protocol measures the OAuth endpoints of a real
// `paylent serve` child process over loopback (protocol.go).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
)

// The goals of the issue that asked for this tool.
const (
	wantConcurrencyGain = 5      // append xN / append x1
	wantRebuildRate     = 50_000 // events/s
)

const suites = `usage: paylent-bench core|protocol|tenants|tokens [flags]   (each takes --help)
`

const usage = `usage: paylent-bench core [flags]

core measures, against ceilings measured in the same run on the same private
PostgreSQL cluster (durable default settings) and embedded NATS server:
  append x1, append xN     single-event appends through the event store (group commit)
  raw insert+commit x1/xN  autocommit INSERTs of the same rows into a plain table
  relay                    the event log relayed to an empty JetStream stream
  raw jetstream publish    the same envelopes async-published to a scratch stream
  rebuild (catalog)        a full projection replay from PostgreSQL
  raw read                 one SELECT of the same rows, scanned without decoding

flags:
`

type config struct {
	events    int
	duration  time.Duration
	appenders int
	json      bool
}

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "paylent-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	switch name {
	case "core":
		return runCore(args[1:], stdout, stderr)
	case "protocol":
		return runProtocol(args[1:], stdout, stderr)
	case "tenants":
		return runTenants(args[1:], stdout, stderr)
	case "tokens":
		return runTokens(args[1:], stdout, stderr)
	case bareFiberCommand: // hidden: the bare fiber handler of the protocol suite's ceiling
		return runBareFiber(args[1:], stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stderr, suites)
		return flag.ErrHelp
	}
	fmt.Fprint(stderr, suites)
	return errors.New("name a benchmark suite: core, protocol, tenants or tokens")
}

func runCore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paylent-bench core", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.IntVar(&cfg.events, "events", 100_000, "events in the log for the relay and rebuild benchmarks")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "how long each append benchmark runs")
	fs.IntVar(&cfg.appenders, "appenders", 32, "concurrent appenders of the concurrent append benchmark")
	fs.BoolVar(&cfg.json, "json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || cfg.events < logEnvironments || cfg.duration <= 0 || cfg.appenders < 2 {
		return fmt.Errorf("bad arguments: want --events >= %d, --duration > 0, --appenders >= 2 and nothing else", logEnvironments)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rp, err := core(ctx, cfg, log, stderr)
	if err != nil {
		return err
	}
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rp)
	}
	rp.writeText(stdout)
	return nil
}

// core runs every benchmark of the suite in one private environment, which it removes
// before returning (also when interrupted).
func core(ctx context.Context, cfg config, log *slog.Logger, stderr io.Writer) (*report, error) {
	b, err := startBench(ctx, log)
	if err != nil {
		return nil, err
	}
	defer b.close()
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	rp := &report{Config: settings{Events: cfg.events, Duration: cfg.duration.Seconds(), Appenders: cfg.appenders}}
	rp.Config.EventBytes = len(newTokenEvent(0, 0).event.Data)

	log.Info("measuring", "benchmark", "disk write+fdatasync", "for", 2*time.Second)
	disk, err := fsyncProbe(ctx, b.dir, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("fsync probe: %w", err)
	}
	appends, factors, err := benchAppends(ctx, b, cfg.duration, cfg.appenders, log, quiet)
	if err != nil {
		return nil, err
	}
	rp.Results = append(append(rp.Results, disk), appends...)
	rp.GroupCommit = factors

	pool, err := b.database(ctx, "bench_log", 8)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	rp.Machine = b.describe(ctx, pool)
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{Logger: quiet})
	defer store.Close()
	reg := eventtypes.Registry()

	log.Info("filling the log", "events", cfg.events)
	fill, dataBytes, err := fillLog(ctx, store, reg, cfg.events)
	if err != nil {
		return nil, err
	}
	rp.Config.LogEventBytes = dataBytes
	head, err := store.Head(ctx)
	if err != nil {
		return nil, err
	}
	log.Info("measuring", "benchmark", "relay", "events", cfg.events)
	relay, err := benchRelay(ctx, b, pool, store, cfg.events, head, quiet)
	if err != nil {
		return nil, err
	}
	log.Info("measuring", "benchmark", "raw jetstream publish", "events", cfg.events)
	publish, err := benchRawPublish(ctx, b, store, cfg.events)
	if err != nil {
		return nil, err
	}
	log.Info("measuring", "benchmark", "rebuild", "events", cfg.events)
	rebuild, err := benchRebuild(ctx, store, reg, cfg.events, head)
	if err != nil {
		return nil, err
	}
	read, err := benchRawRead(ctx, pool, cfg.events)
	if err != nil {
		return nil, err
	}
	rp.Results = append(rp.Results, relay, publish, rebuild, read, fill)
	linkCeilings(rp.Results)
	rp.Targets = targets(rp, cfg.appenders)
	return rp, nil
}

func targets(rp *report, n int) []target {
	one, many := rp.find("append x1"), rp.find(fmt.Sprintf("append x%d", n))
	gain := 0.0
	if one.Rate > 0 {
		gain = many.Rate / one.Rate
	}
	return []target{
		newTarget("concurrent_append_gain", "x", fmt.Sprintf("append x%d ÷ append x1 (group commit)", n), wantConcurrencyGain, gain),
		newTarget("rebuild_rate", "events/s", "rebuild from PostgreSQL", wantRebuildRate, rp.find("rebuild (catalog)").Rate),
	}
}
