package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/eventstore/storetest"
	"github.com/paylent/paylent/internal/pgcluster"
	"github.com/paylent/paylent/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newPostgres(t testing.TB) (*eventstore.Postgres, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	s := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	t.Cleanup(func() {
		s.Close()
		pool.Close()
	})
	return s, pool
}

func TestPostgresConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		s, _ := newPostgres(t)
		return s
	})
}

func TestPostgresRefusesUpdateDeleteTruncate(t *testing.T) {
	s, pool := newPostgres(t)
	if _, err := s.Append(t.Context(), eventstore.StreamAppend{Environment: "env-a", Stream: "s",
		Events: []eventstore.NewEvent{storetest.Event("thing.created", 1)}}); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE events SET data = '{"forged":true}' WHERE position = 1`,
		`DELETE FROM events WHERE position = 1`,
		`TRUNCATE events`,
	} {
		_, err := pool.Exec(t.Context(), sql)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only guard to refuse", sql, err)
		}
	}
	if rep, err := eventstore.Verify(t.Context(), s, "env-a"); err != nil || rep.Events != 1 {
		t.Errorf("verify after refused changes: %+v %v", rep, err)
	}
}

// Someone with superuser rights drops the guard and edits, removes or reorders rows:
// verification names the first bad position.
func TestVerifyDetectsTampering(t *testing.T) {
	tamper := map[string]struct {
		sql  string
		want int64
	}{
		"altered data":   {`UPDATE events SET data = '{"n": 999}' WHERE position = 5`, 5},
		"altered actor":  {`UPDATE events SET actor = '{"kind":"user"}' WHERE position = 3`, 3},
		"altered time":   {`UPDATE events SET occurred_at = occurred_at + interval '1 second' WHERE position = 7`, 7},
		"removed middle": {`DELETE FROM events WHERE position = 5`, 7},
		// env-a's last event goes: its log now ends at 7, while the head record says 9.
		"removed tail":    {`DELETE FROM events WHERE position = 9`, 8},
		"swapped content": {`UPDATE events SET data = CASE position WHEN 3 THEN (SELECT data FROM events WHERE position = 5) ELSE (SELECT data FROM events WHERE position = 3) END WHERE position IN (3, 5)`, 3},
	}
	for name, tc := range tamper {
		t.Run(name, func(t *testing.T) {
			s, pool := newPostgres(t)
			for i := 1; i <= 9; i++ {
				env := "env-a"
				if i%2 == 0 {
					env = "env-b"
				}
				if _, err := s.Append(t.Context(), eventstore.StreamAppend{Environment: env, Stream: fmt.Sprintf("%s-s", env),
					ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{storetest.Event("thing.touched", map[string]int{"n": i})}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := eventstore.Verify(t.Context(), s, "env-a"); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			if _, err := pool.Exec(t.Context(), `ALTER TABLE events DISABLE TRIGGER USER`); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(t.Context(), tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := eventstore.Verify(t.Context(), s, "env-a")
			var broken *eventstore.ChainError
			if !errors.As(err, &broken) {
				t.Fatalf("verify after tampering: %v, want a chain error", err)
			}
			if broken.Position != tc.want {
				t.Errorf("bad position %d (%s), want %d", broken.Position, broken.Reason, tc.want)
			}
			if _, err := eventstore.Verify(t.Context(), s, "env-b"); err != nil {
				t.Errorf("untouched environment env-b: %v", err)
			}
		})
	}
}

// Concurrent appenders share commits: that is what makes one event per token affordable.
func TestGroupCommit(t *testing.T) {
	s, _ := newPostgres(t)
	const writers, each = 32, 20
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := s.Append(context.Background(), eventstore.StreamAppend{Environment: "env-a",
					Stream: fmt.Sprintf("w%d-%d", w, i), Events: []eventstore.NewEvent{storetest.Event("thing.created", i)}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	commits, events, requests := s.Stats()
	if events != writers*each || requests != writers*each {
		t.Fatalf("stats: %d events, %d requests", events, requests)
	}
	if commits >= requests {
		t.Errorf("%d commits for %d concurrent requests: appends were not grouped", commits, requests)
	}
	t.Logf("%d requests in %d commits (%.1f per commit)", requests, commits, float64(requests)/float64(commits))
}

func TestLoopRetriesConflicts(t *testing.T) {
	s, _ := newPostgres(t)
	loop := eventstore.NewLoop(s, counterRegistry(), time.Now)
	var wg sync.WaitGroup
	for w := 0; w < 20; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := loop.Execute(context.Background(), increment{}, domain.Actor{Kind: domain.ActorSystem}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	evs, err := s.ReadStream(t.Context(), "counter-1")
	if err != nil || len(evs) != 20 {
		t.Fatalf("%d increments recorded (%v), want 20: a conflicting writer was lost", len(evs), err)
	}
}

// With the database gone, appends and reads fail as ErrUnavailable (503 at the edge), and
// work again once it is back, without a new store.
func TestUnavailableAndBack(t *testing.T) {
	c := pgtest.NewCluster(t)
	pool, err := pgxpool.New(t.Context(), pgtest.MigratedURL(t, c))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	defer s.Close()
	appendEvent := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := s.Append(ctx, eventstore.StreamAppend{Environment: "env-a", Stream: "s", ExpectedVersion: eventstore.ExpectAny,
			Events: []eventstore.NewEvent{storetest.Event("thing.touched", 1)}})
		return err
	}
	if err := appendEvent(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := appendEvent(); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("append with the database down: %v, want ErrUnavailable", err)
	}
	if _, err := s.Head(t.Context()); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("read with the database down: %v, want ErrUnavailable", err)
	}
	if _, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: c.Dir, Port: c.Port}); err != nil {
		t.Fatal(err)
	}
	if err := appendEvent(); err != nil {
		t.Fatalf("append after the database came back: %v", err)
	}
	if head, err := s.Head(t.Context()); err != nil || head != 2 {
		t.Errorf("head %d %v, want 2", head, err)
	}
}
