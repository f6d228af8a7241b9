// Temporary investigation probe; deleted before handing back.
package main

import (
	"context"
	"fmt"
	"github.com/google/uuid"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/pgcluster"
	"github.com/paylent/paylent/migrations"
)

type tracer struct {
	mu  sync.Mutex
	sum map[string]time.Duration
	n   map[string]int
}
type key struct{}

func (t *tracer) add(k string, d time.Duration) {
	t.mu.Lock()
	t.sum[k] += d
	t.n[k]++
	t.mu.Unlock()
}
func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 50 {
		s = s[:50]
	}
	return s
}
func (t *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, key{}, [2]any{time.Now(), d.SQL})
}
func (t *tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	v := ctx.Value(key{}).([2]any)
	t.add("Q "+short(v[1].(string)), time.Since(v[0].(time.Time)))
}
func (t *tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	ctx = context.WithValue(ctx, bqKey{}, &bq{last: time.Now()})
	return context.WithValue(ctx, key{}, [2]any{time.Now(), short(d.Batch.QueuedQueries[0].SQL)})
}

type bq struct{ last time.Time }

func (t *tracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	b := ctx.Value(bqKey{}).(*bq)
	now := time.Now()
	t.add("  b "+short(d.SQL), now.Sub(b.last))
	b.last = now
}

type bqKey struct{}

func (t *tracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	v := ctx.Value(key{}).([2]any)
	t.add("B "+v[1].(string), time.Since(v[0].(time.Time)))
}

func main() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "paylent-probe-*")
	os.Chmod(dir, 0o711)
	defer os.RemoveAll(dir)
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"), Settings: map[string]string{"log_min_duration_statement": os.Getenv("LOGDUR"), "log_lock_waits": "on"}})
	if err != nil {
		panic(err)
	}
	defer c.Stop(context.Background())
	defer func() {
		if os.Getenv("LOGDUR") == "0" {
			b, _ := os.ReadFile(c.LogFile())
			os.WriteFile("/tmp/probe-pg.log", b, 0o644)
		}
	}()
	url := c.URL("paylent")
	if err := migrations.Up(ctx, url, nil); err != nil {
		panic(err)
	}
	tr := &tracer{sum: map[string]time.Duration{}, n: map[string]int{}}
	cfg, _ := pgxpool.ParseConfig(url)
	cfg.ConnConfig.Tracer = tr
	pool, _ := pgxpool.NewWithConfig(ctx, cfg)
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	mode := os.Args[1]
	_, _ = pool.Exec(ctx, `CREATE TABLE raw_events (LIKE events INCLUDING ALL)`)
	run := func(n int) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			data := []byte(fmt.Sprintf(`{"i":%d,"pad":"%0300d"}`, i, i))
			var err error
			switch mode {
			case "store":
				_, err = store.Append(ctx, eventstore.StreamAppend{Environment: "bench-a", Stream: fmt.Sprintf("token-%d-%d", time.Now().UnixNano(), i),
					ExpectedVersion: 0, Events: []eventstore.NewEvent{{Type: "token.issued", SchemaVersion: 1, Data: data, OccurredAt: time.Now(), Actor: domain.Actor{Kind: "client"}}}})
			case "tx":
				// the raw insert inside an explicit transaction: begin, insert, commit
				tx, _ := pool.Begin(ctx)
				_, err = tx.Exec(ctx, `INSERT INTO raw_events VALUES ($1, gen_random_uuid(), 'e', $2, 1, 't.t', 1, now(), '{}', $3, $4, $4)`, int64(i)+time.Now().UnixNano(), fmt.Sprint("s", i, time.Now().UnixNano()), string(data), make([]byte, 32))
				if err == nil {
					err = tx.Commit(ctx)
				}
			case "unnest", "unnest-nojson":
				cast := "a::json, d::json"
				if mode == "unnest-nojson" {
					cast = "a::json, d::json"
				}
				tx, _ := pool.Begin(ctx)
				now := time.Now()
				_, err = tx.Exec(ctx, `INSERT INTO `+os.Getenv("TABLE")+` (position, id, environment, stream, stream_version, type, schema_version,
			occurred_at, actor, data, hash, prev_hash)
		SELECT p, i::uuid, e, s, v, t, sv, o, `+cast+`, h, ph
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[],
			$8::timestamptz[], $9::text[], $10::text[], $11::bytea[], $12::bytea[])
			AS x(p, i, e, s, v, t, sv, o, a, d, h, ph)`,
					[]int64{int64(i) + now.UnixNano()}, []string{"0190a8d2-0000-7000-8000-" + fmt.Sprintf("%012d", i+int(now.UnixNano()%1e9))}, []string{"e"}, []string{fmt.Sprint("s", i, now.UnixNano())},
					[]int64{1}, []string{"t.t"}, []int32{1}, []time.Time{now}, []string{`{"kind":"client"}`}, []string{string(data)}, [][]byte{make([]byte, 32)}, [][]byte{make([]byte, 32)})
				if err == nil {
					err = tx.Commit(ctx)
				}
			case "mimic":
				err = mimic(ctx, pool, i, data)
			case "notify":
				tx, _ := pool.Begin(ctx)
				_, err = tx.Exec(ctx, `INSERT INTO raw_events VALUES ($1, gen_random_uuid(), 'e', $2, 1, 't.t', 1, now(), '{}', $3, $4, $4)`, int64(i)+time.Now().UnixNano(), fmt.Sprint("s", i, time.Now().UnixNano()), string(data), make([]byte, 32))
				if err == nil {
					_, err = tx.Exec(ctx, `SELECT pg_notify('paylent_events', '1')`)
				}
				if err == nil {
					err = tx.Commit(ctx)
				}
			}
			if err != nil {
				panic(err)
			}
		}
		return time.Since(start)
	}
	run(200)
	tr.sum, tr.n = map[string]time.Duration{}, map[string]int{}
	n := 1000
	el := run(n)
	fmt.Printf("%s: %d ops in %v: %.0f/s, %.2f ms/op\n", mode, n, el, float64(n)/el.Seconds(), el.Seconds()*1000/float64(n))
	var ks []string
	for k := range tr.sum {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		fmt.Printf("  %-55s n=%5d mean=%.3f ms\n", k, tr.n[k], tr.sum[k].Seconds()*1000/float64(tr.n[k]))
	}
}

var prevPos int64

func mimic(ctx context.Context, pool *pgxpool.Pool, i int, data []byte) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	b := &pgx.Batch{}
	if os.Getenv("NOLOCK") == "" {
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, int64(12345))
	}
	b.Queue(`SELECT coalesce(max(position), 0) FROM events`)
	if os.Getenv("NOREAD") == "" {
		b.Queue(`SELECT s.stream, coalesce(e.stream_version, 0), coalesce(e.environment, '')
		FROM unnest($1::text[]) AS s(stream)
		LEFT JOIN LATERAL (SELECT stream_version, environment FROM events
			WHERE events.stream = s.stream ORDER BY stream_version DESC LIMIT 1) e ON true`, []string{fmt.Sprint("s", i)})
		b.Queue(`SELECT environment, position, hash, events FROM environment_heads WHERE environment = ANY($1)`, []string{"e"})
	}
	br := tx.SendBatch(ctx, b)
	var pos int64
	if os.Getenv("NOLOCK") == "" {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if err := br.QueryRow().Scan(&pos); err != nil {
		return err
	}
	if err := br.Close(); err != nil {
		return err
	}
	now := time.Now()
	w := &pgx.Batch{}
	w.Queue(`INSERT INTO events (position, id, environment, stream, stream_version, type, schema_version,
			occurred_at, actor, data, hash, prev_hash)
		SELECT p, i::uuid, e, s, v, t, sv, o, a::json, d::json, h, ph
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[],
			$8::timestamptz[], $9::text[], $10::text[], $11::bytea[], $12::bytea[])
			AS x(p, i, e, s, v, t, sv, o, a, d, h, ph)`,
		[]int64{pos + 1}, []string{uuid7()}, []string{"e"}, []string{fmt.Sprint("s", i, now.UnixNano())},
		[]int64{1}, []string{"t.t"}, []int32{1}, []time.Time{now}, []string{`{"kind":"client"}`}, []string{string(data)}, [][]byte{make([]byte, 32)}, [][]byte{make([]byte, 32)})
	if os.Getenv("NOHEADS") == "" {
		w.Queue(`INSERT INTO environment_heads (environment, position, hash, events)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[])
		ON CONFLICT (environment) DO UPDATE
		SET position = excluded.position, hash = excluded.hash, events = excluded.events`,
			[]string{"e"}, []int64{pos + 1}, [][]byte{make([]byte, 32)}, []int64{pos + 1})
	}
	if os.Getenv("NONOTIFY") == "" {
		w.Queue(`SELECT pg_notify($1, $2)`, "paylent_events", fmt.Sprint(pos+1))
	}
	if err := tx.SendBatch(ctx, w).Close(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func uuid7() string { return uuid.Must(uuid.NewV7()).String() }
