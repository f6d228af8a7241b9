package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
)

// warmup runs each append benchmark untimed first, so that connections are open and
// statements prepared before the clock starts.
const warmup = 500 * time.Millisecond

// appendEnvironments spread the appends over a few environments (and so hash chains).
var appendEnvironments = []string{"bench-a", "bench-b", "bench-c", "bench-d"}

// rawInsert writes a row like an appended event's, in autocommit: one INSERT, one commit.
// raw_events has the columns, constraints and indexes of events, and no triggers.
const rawInsert = `INSERT INTO raw_events (position, id, environment, stream, stream_version, type,
	schema_version, occurred_at, actor, data, hash, prev_hash)
	VALUES ($1, $2, $3, $4, 1, $5, 1, $6, $7, $8, $9, $10)`

// tokenEvent is what an append benchmark writes: a token issued to a client (about 300
// bytes of JSON), as the first event of a new stream.
type tokenEvent struct {
	environment, stream string
	event               eventstore.NewEvent
}

func newTokenEvent(worker int, i int64) tokenEvent {
	id := uuid.Must(uuid.NewV7())
	hash := sha256.Sum256(id[:])
	client := fmt.Sprintf("client-%04d", worker)
	now := time.Now()
	data := fmt.Appendf(nil, `{"token_hash":"%x","client_id":"%s","subject":"user-%08d","grant_id":"%s",`+
		`"scopes":["openid","profile","email","offline_access"],"format":"jwt",`+
		`"audience":"https://api.example.com","expires_at":"%s"}`,
		hash, client, i, id, now.Add(time.Hour).UTC().Format(time.RFC3339))
	return tokenEvent{
		environment: appendEnvironments[(worker+int(i))%len(appendEnvironments)],
		stream:      "token-" + id.String(),
		event: eventstore.NewEvent{
			Type: "token.issued", SchemaVersion: 1, Data: data, OccurredAt: now,
			Actor: domain.Actor{Kind: domain.ActorClient, ID: client, IP: "203.0.113.7", UserAgent: "paylent-bench/1"},
		},
	}
}

// op is one timed operation of worker; i counts the worker's operations.
type op func(ctx context.Context, worker int, i int64) error

type measurement struct {
	ops       int64
	elapsed   time.Duration
	latencies []time.Duration
}

// runFor calls fn from workers goroutines until d has passed, and waits for the operations
// in flight. The elapsed time runs until the last one returns.
func runFor(ctx context.Context, workers int, d time.Duration, fn op) (measurement, error) {
	lat := make([][]time.Duration, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			for i := int64(0); ctx.Err() == nil && time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := fn(ctx, w, i); err != nil {
					errs[w] = err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
			errs[w] = ctx.Err()
		})
	}
	wg.Wait()
	m := measurement{elapsed: time.Since(start)}
	if err := errors.Join(errs...); err != nil {
		return m, err
	}
	for _, l := range lat {
		m.latencies = append(m.latencies, l...)
	}
	m.ops = int64(len(m.latencies))
	return m, nil
}

// appendBench measures single-event appends through the store, against autocommit
// INSERTs of the same rows.
type appendBench struct {
	pool     *pgxpool.Pool
	store    *eventstore.Postgres
	duration time.Duration
	position atomic.Int64 // positions of raw_events rows
}

func (a *appendBench) appendOne(ctx context.Context, worker int, i int64) error {
	t := newTokenEvent(worker, i)
	_, err := a.store.Append(ctx, eventstore.StreamAppend{Environment: t.environment, Stream: t.stream,
		ExpectedVersion: eventstore.ExpectNoStream, Events: []eventstore.NewEvent{t.event}})
	return err
}

func (a *appendBench) insertOne(ctx context.Context, worker int, i int64) error {
	t := newTokenEvent(worker, i)
	actor, err := json.Marshal(t.event.Actor)
	if err != nil {
		return err
	}
	id := uuid.Must(uuid.NewV7())
	hash, prev := sha256.Sum256(t.event.Data), sha256.Sum256(id[:])
	_, err = a.pool.Exec(ctx, rawInsert, a.position.Add(1), id.String(), t.environment, t.stream, t.event.Type,
		eventstore.NormalizeTime(t.event.OccurredAt), actor, []byte(t.event.Data), hash[:], prev[:])
	return err
}

// rounds is how many alternating slices the store and its ceiling are timed in: the disk of
// a virtual machine drifts, and alternating lets both see the same drift.
const rounds = 5

// series accumulates the rounds of one benchmark.
type series struct {
	name             string
	fn               op
	store            bool
	m                measurement
	commits, appends int64
}

func (a *appendBench) round(ctx context.Context, s *series, workers int, d time.Duration) error {
	c0, _, q0 := a.store.Stats()
	m, err := runFor(ctx, workers, d, s.fn)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	c1, _, q1 := a.store.Stats()
	s.m.ops += m.ops
	s.m.elapsed += m.elapsed
	s.m.latencies = append(s.m.latencies, m.latencies...)
	if s.store {
		s.commits, s.appends = s.commits+c1-c0, s.appends+q1-q0
	}
	return nil
}

func (s *series) result() result {
	slices.Sort(s.m.latencies)
	r := newResult(s.name, s.m.ops, s.m.elapsed)
	r.Note = latencyNote(s.m.latencies)
	if s.store && s.commits > 0 {
		r.Note += fmt.Sprintf(", %.1f appends/commit", float64(s.appends)/float64(s.commits))
	}
	return r
}

// compare warms both up, then times them in alternating rounds (which goes first alternates
// too) that add up to the configured duration each.
func (a *appendBench) compare(ctx context.Context, workers int, pair ...*series) error {
	for _, s := range pair {
		if _, err := runFor(ctx, workers, warmup, s.fn); err != nil {
			return fmt.Errorf("%s (warm-up): %w", s.name, err)
		}
	}
	for i := range rounds {
		for j := range pair {
			if err := a.round(ctx, pair[(i+j)%len(pair)], workers, a.duration/rounds); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchAppends measures 1 and n concurrent appenders and their ceilings. It returns the
// rows, in print order, and the group-commit factor of each store row. progress reports
// what is being measured; the store logs to storeLog.
func benchAppends(ctx context.Context, b *bench, d time.Duration, n int, progress, storeLog *slog.Logger) ([]result, map[string]float64, error) {
	pool, err := b.database(ctx, "bench_append", int32(n+4))
	if err != nil {
		return nil, nil, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE raw_events (LIKE events INCLUDING ALL)`); err != nil {
		return nil, nil, fmt.Errorf("create raw_events: %w", err)
	}
	a := &appendBench{pool: pool, store: eventstore.NewPostgres(pool, eventstore.PostgresOptions{Logger: storeLog}), duration: d}
	defer a.store.Close()

	factors := map[string]float64{}
	var out []result
	for _, workers := range []int{1, n} {
		store := &series{name: fmt.Sprintf("append x%d", workers), fn: a.appendOne, store: true}
		raw := &series{name: fmt.Sprintf("raw insert+commit x%d", workers), fn: a.insertOne}
		progress.Info("measuring", "benchmark", store.name+" and "+raw.name, "for", 2*d)
		if err := a.compare(ctx, workers, store, raw); err != nil {
			return nil, nil, err
		}
		r, c := store.result(), raw.result()
		r.Ceiling, c.IsCeiling = raw.name, true
		if store.commits > 0 {
			factors[store.name] = float64(store.appends) / float64(store.commits)
		}
		out = append(out, r, c)
	}
	return out, factors, nil
}
