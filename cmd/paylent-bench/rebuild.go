package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
)

// benchRebuild replays the whole log into an empty catalog, as `paylent projections
// rebuild` does: read from PostgreSQL in pages, decode every event, apply it.
func benchRebuild(ctx context.Context, store *eventstore.Postgres, reg *domain.Registry, n int, head int64) (result, error) {
	cat := catalog.New()
	start := time.Now()
	pos, _, err := projections.Replay(ctx, store, reg, cat)
	elapsed := time.Since(start)
	if err != nil {
		return result{}, err
	}
	if pos != head {
		return result{}, fmt.Errorf("rebuild stopped at position %d, want %d", pos, head)
	}
	if got := len(cat.Environments("bench")); got != min(n, logEnvironments) {
		return result{}, fmt.Errorf("rebuilt catalog has %d environments, want %d", got, min(n, logEnvironments))
	}
	r := newResult("rebuild (catalog)", int64(n), elapsed)
	r.Ceiling = "raw read"
	r.Note = "events/s, projections.Replay from PostgreSQL"
	return r, nil
}

// benchRawRead selects the columns a replay reads, over the whole log in one query, and
// scans them into Go values without decoding anything.
func benchRawRead(ctx context.Context, pool *pgxpool.Pool, n int) (result, error) {
	start := time.Now()
	rows, err := pool.Query(ctx, `SELECT position, id::text, environment, stream, stream_version, type,
		schema_version, occurred_at, actor, data, hash, prev_hash FROM events ORDER BY position`)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	var (
		count                   int64
		pos, version            int64
		schema                  int
		id, env, stream, typ    string
		at                      time.Time
		actor, data, hash, prev []byte
	)
	for rows.Next() {
		if err := rows.Scan(&pos, &id, &env, &stream, &version, &typ, &schema, &at, &actor, &data, &hash, &prev); err != nil {
			return result{}, err
		}
		count++
	}
	if err := rows.Err(); err != nil {
		return result{}, err
	}
	elapsed := time.Since(start)
	if count != int64(n) {
		return result{}, fmt.Errorf("raw read: %d rows, want %d", count, n)
	}
	r := newResult("raw read", count, elapsed)
	r.IsCeiling = true
	r.Note = "rows/s, one SELECT, scan only"
	return r, nil
}
