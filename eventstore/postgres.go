package eventstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/domain"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// appendLockID is the transaction-scoped advisory lock every append holds while it assigns
// positions. Holding it until commit makes position order equal commit order: a reader can
// never see position N+1 committed while N is still in flight, so the relay and projections
// can follow the log with a plain "position > last" cursor and treat any hole as a bug.
const appendLockID = 0x7061796c656e7402

// NotifyChannel is the PostgreSQL channel on which every append announces its last position.
const NotifyChannel = "paylent_events"

// Postgres is the PostgreSQL Store. Concurrent appends are grouped into one transaction
// (group commit): while one batch commits, the next accumulates.
type Postgres struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	queue    chan *pending
	stop     chan struct{}
	done     chan struct{}
	closing  sync.Once
	maxBatch int
	stats    struct{ commits, events, requests atomic.Int64 }
	observer AppendObserver // nil: not observed
	tracer   trace.Tracer   // nil: no spans
}

var _ Store = (*Postgres)(nil)

type pending struct {
	ctx     context.Context
	appends []StreamAppend
	reply   chan appendResult
}

type appendResult struct {
	envs []domain.Envelope
	err  error
}

// PostgresOptions tunes the store.
type PostgresOptions struct {
	// MaxBatch caps the requests grouped into one commit (default 256).
	MaxBatch int
	Logger   *slog.Logger
	// Observer is told every append's latency and every commit's size (metrics); nil
	// observes nothing.
	Observer AppendObserver
	// Tracer puts each Append in a span (queueing and group commit included); nil: none.
	Tracer trace.Tracer
}

// AppendObserver watches the store's appends (internal/metrics implements it).
type AppendObserver interface {
	// AppendDone reports one Append from the call to its outcome (AppendOutcome).
	AppendDone(elapsed time.Duration, outcome string)
	// BatchCommitted reports one group-commit transaction: the requests and events it
	// committed and how long it took.
	BatchCommitted(requests, events int, elapsed time.Duration)
}

// Outcomes of an append, as AppendObserver reports them.
const (
	OutcomeOK          = "ok"
	OutcomeConflict    = "conflict"
	OutcomeUnavailable = "unavailable"
	OutcomeError       = "error"
)

// AppendOutcome names err's class for an AppendObserver.
func AppendOutcome(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrConflict):
		return OutcomeConflict
	case errors.Is(err, ErrUnavailable):
		return OutcomeUnavailable
	default:
		return OutcomeError
	}
}

// NewPostgres returns a store over pool, whose database must be migrated. Close stops its
// committer; the pool stays the caller's.
func NewPostgres(pool *pgxpool.Pool, opts PostgresOptions) *Postgres {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Postgres{
		pool: pool, log: opts.Logger, maxBatch: opts.MaxBatch, observer: opts.Observer, tracer: opts.Tracer,
		queue: make(chan *pending, 4096), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.commitLoop()
	return s
}

// Close finishes the appends already queued and stops the committer.
func (s *Postgres) Close() {
	s.closing.Do(func() { close(s.stop) })
	<-s.done
}

// Stats reports commits, committed events and append requests since start: requests per
// commit is the group-commit factor.
func (s *Postgres) Stats() (commits, events, requests int64) {
	return s.stats.commits.Load(), s.stats.events.Load(), s.stats.requests.Load()
}

// Append implements Store.
func (s *Postgres) Append(ctx context.Context, appends ...StreamAppend) ([]domain.Envelope, error) {
	if err := validateAppends(appends); err != nil {
		return nil, err
	}
	if s.observer == nil && s.tracer == nil {
		return s.append(ctx, appends)
	}
	var span trace.Span
	if s.tracer != nil {
		events := 0
		for _, a := range appends {
			events += len(a.Events)
		}
		ctx, span = s.tracer.Start(ctx, "eventstore.append", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.Int("paylent.streams", len(appends)), attribute.Int("paylent.events", events)))
		defer span.End()
	}
	start := time.Now()
	envs, err := s.append(ctx, appends)
	outcome := AppendOutcome(err)
	if s.observer != nil {
		s.observer.AppendDone(time.Since(start), outcome)
	}
	if span != nil {
		if err != nil {
			span.SetStatus(codes.Error, outcome)
		} else if len(envs) > 0 {
			span.SetAttributes(attribute.Int64("paylent.position.first", envs[0].Position),
				attribute.Int64("paylent.position.last", envs[len(envs)-1].Position))
		}
	}
	return envs, err
}

func (s *Postgres) append(ctx context.Context, appends []StreamAppend) ([]domain.Envelope, error) {
	p := &pending{ctx: ctx, appends: appends, reply: make(chan appendResult, 1)}
	select {
	case <-s.stop:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	case s.queue <- p:
	}
	// Once queued, wait for the outcome even if ctx ends: the committer drops requests whose
	// context ended before their batch started, and otherwise reports what really happened.
	r := <-p.reply
	return r.envs, r.err
}

func (s *Postgres) commitLoop() {
	defer close(s.done)
	for {
		var first *pending
		select {
		case first = <-s.queue:
		case <-s.stop:
			s.drain()
			return
		}
		s.commitBatch(s.gather(first))
	}
}

// gather takes first and whatever else is queued, up to maxBatch.
func (s *Postgres) gather(first *pending) []*pending {
	batch := []*pending{first}
	for len(batch) < s.maxBatch {
		select {
		case p := <-s.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

func (s *Postgres) drain() {
	for {
		select {
		case p := <-s.queue:
			s.commitBatch(s.gather(p))
		default:
			return
		}
	}
}

func (s *Postgres) commitBatch(batch []*pending) {
	live := batch[:0]
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.reply <- appendResult{err: err}
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	results, events, err := s.commit(ctx, live)
	if err != nil {
		err = classify(err)
		s.log.Warn("append batch failed", "requests", len(live), "err", err)
		for _, p := range live {
			p.reply <- appendResult{err: err}
		}
		return
	}
	s.stats.commits.Add(1)
	s.stats.events.Add(int64(events))
	s.stats.requests.Add(int64(len(live)))
	if s.observer != nil && events > 0 {
		s.observer.BatchCommitted(len(live), events, time.Since(start))
	}
	for i, p := range live {
		p.reply <- results[i]
	}
}

// commit runs one group-commit transaction. A request refused by the planner (conflict,
// wrong environment) gets its own error; the others commit together.
func (s *Postgres) commit(ctx context.Context, batch []*pending) ([]appendResult, int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after commit
	pl, err := s.loadPlanner(ctx, tx, batch)
	if err != nil {
		return nil, 0, err
	}
	results := make([]appendResult, len(batch))
	for i, p := range batch {
		envs, err := pl.plan(p.appends)
		results[i] = appendResult{envs: envs, err: err}
	}
	if len(pl.envelope) == 0 {
		return results, 0, nil
	}
	if err := s.write(ctx, tx, pl); err != nil {
		return nil, 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, 0, err
	}
	return results, len(pl.envelope), nil
}

// loadPlanner takes the append lock, then reads (in the same round trip) the global head,
// the batch's streams and the chain heads of its environments.
func (s *Postgres) loadPlanner(ctx context.Context, tx pgx.Tx, batch []*pending) (*planner, error) {
	var streams, envs []string
	seenS, seenE := map[string]bool{}, map[string]bool{}
	for _, p := range batch {
		for _, a := range p.appends {
			if !seenS[a.Stream] {
				seenS[a.Stream] = true
				streams = append(streams, a.Stream)
			}
			if !seenE[a.Environment] {
				seenE[a.Environment] = true
				envs = append(envs, a.Environment)
			}
		}
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, int64(appendLockID))
	b.Queue(`SELECT coalesce(max(position), 0) FROM events`)
	b.Queue(`SELECT s.stream, coalesce(e.stream_version, 0), coalesce(e.environment, '')
		FROM unnest($1::text[]) AS s(stream)
		LEFT JOIN LATERAL (SELECT stream_version, environment FROM events
			WHERE events.stream = s.stream ORDER BY stream_version DESC LIMIT 1) e ON true`, streams)
	b.Queue(`SELECT environment, position, hash, events FROM environment_heads WHERE environment = ANY($1)`, envs)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("take append lock: %w", err)
	}
	pl := &planner{streams: map[string]streamInfo{}, heads: map[string]ChainHead{},
		newID: func() string { return uuid.Must(uuid.NewV7()).String() }}
	if err := br.QueryRow().Scan(&pl.next); err != nil {
		return nil, fmt.Errorf("read head: %w", err)
	}
	pl.next++
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("read stream versions: %w", err)
	}
	for rows.Next() {
		var name string
		var info streamInfo
		if err := rows.Scan(&name, &info.version, &info.environment); err != nil {
			return nil, fmt.Errorf("read stream versions: %w", err)
		}
		pl.streams[name] = info
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stream versions: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	for rows.Next() {
		var env string
		var h ChainHead
		if err := rows.Scan(&env, &h.Position, &h.Hash, &h.Events); err != nil {
			return nil, fmt.Errorf("read chain heads: %w", err)
		}
		pl.heads[env] = h
	}
	return pl, rows.Err()
}

// write inserts the planned events, moves the chain heads, and notifies listeners (the
// notification is delivered at commit).
func (s *Postgres) write(ctx context.Context, tx pgx.Tx, pl *planner) error {
	n := len(pl.envelope)
	var (
		pos, sver   = make([]int64, n), make([]int64, n)
		ids, envs   = make([]string, n), make([]string, n)
		streams     = make([]string, n)
		types       = make([]string, n)
		schemas     = make([]int32, n)
		times       = make([]time.Time, n)
		actors, dat = make([]string, n), make([]string, n)
		hashes, prv = make([][]byte, n), make([][]byte, n)
	)
	for i, e := range pl.envelope {
		pos[i], ids[i], envs[i], streams[i], sver[i] = e.Position, e.ID, e.Environment, e.Stream, e.StreamVersion
		types[i], schemas[i], times[i] = e.Type, int32(e.SchemaVersion), e.OccurredAt
		actors[i], dat[i], hashes[i], prv[i] = string(e.Actor), string(e.Data), e.Hash, e.PrevHash
	}
	headEnv := make([]string, 0, len(pl.heads))
	var headPos, headEvents []int64
	var headHash [][]byte
	for env, h := range pl.heads {
		if h.Events == 0 {
			continue
		}
		headEnv, headPos, headHash, headEvents = append(headEnv, env), append(headPos, h.Position), append(headHash, h.Hash), append(headEvents, h.Events)
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO events (position, id, environment, stream, stream_version, type, schema_version,
			occurred_at, actor, data, hash, prev_hash)
		SELECT p, i::uuid, e, s, v, t, sv, o, a::json, d::json, h, ph
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[],
			$8::timestamptz[], $9::text[], $10::text[], $11::bytea[], $12::bytea[])
			AS x(p, i, e, s, v, t, sv, o, a, d, h, ph)`,
		pos, ids, envs, streams, sver, types, schemas, times, actors, dat, hashes, prv)
	b.Queue(`INSERT INTO environment_heads (environment, position, hash, events)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[])
		ON CONFLICT (environment) DO UPDATE
		SET position = excluded.position, hash = excluded.hash, events = excluded.events`,
		headEnv, headPos, headHash, headEvents)
	b.Queue(`SELECT pg_notify($1, $2)`, NotifyChannel, strconv.FormatInt(pos[n-1], 10))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

const selectEnvelope = `SELECT position, id::text, environment, stream, stream_version, type, schema_version,
	occurred_at, actor, data, hash, prev_hash FROM events `

// ReadStream implements Store.
func (s *Postgres) ReadStream(ctx context.Context, stream string) ([]domain.Envelope, error) {
	return s.query(ctx, selectEnvelope+`WHERE stream = $1 ORDER BY stream_version`, stream)
}

// ReadAll implements Store.
func (s *Postgres) ReadAll(ctx context.Context, after int64, limit int) ([]domain.Envelope, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	return s.query(ctx, selectEnvelope+`WHERE position > $1 ORDER BY position LIMIT $2`, after, limit)
}

// ReadEnvironment implements Store.
func (s *Postgres) ReadEnvironment(ctx context.Context, environment string, after int64, limit int) ([]domain.Envelope, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	return s.query(ctx, selectEnvelope+`WHERE environment = $1 AND position > $2 ORDER BY position LIMIT $3`,
		environment, after, limit)
}

// ReadEnvironmentBefore implements Store. It walks the (environment, position) index
// backwards.
func (s *Postgres) ReadEnvironmentBefore(ctx context.Context, environment string, before int64, limit int) ([]domain.Envelope, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	return s.query(ctx, selectEnvelope+`WHERE environment = $1 AND position < $2 ORDER BY position DESC LIMIT $3`,
		environment, before, limit)
}

func (s *Postgres) query(ctx context.Context, sql string, args ...any) ([]domain.Envelope, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []domain.Envelope
	for rows.Next() {
		e := domain.Envelope{EnvelopeVersion: domain.CurrentEnvelopeVersion}
		var actor, data []byte
		if err := rows.Scan(&e.Position, &e.ID, &e.Environment, &e.Stream, &e.StreamVersion, &e.Type,
			&e.SchemaVersion, &e.OccurredAt, &actor, &data, &e.Hash, &e.PrevHash); err != nil {
			return nil, classify(err)
		}
		e.OccurredAt = e.OccurredAt.UTC()
		e.Actor, e.Data = actor, data
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// Head implements Store.
func (s *Postgres) Head(ctx context.Context) (int64, error) {
	var head int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM events`).Scan(&head)
	return head, classify(err)
}

// EnvironmentHead implements Store.
func (s *Postgres) EnvironmentHead(ctx context.Context, environment string) (ChainHead, error) {
	var h ChainHead
	err := s.pool.QueryRow(ctx, `SELECT position, hash, events FROM environment_heads WHERE environment = $1`,
		environment).Scan(&h.Position, &h.Hash, &h.Events)
	if errors.Is(err, pgx.ErrNoRows) {
		return ChainHead{}, nil
	}
	return h, classify(err)
}
