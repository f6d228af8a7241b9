package eventstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/eventstore/storetest"
	"github.com/paylent/paylent/internal/pgtest"
)

// observed records what an AppendObserver is told.
type observed struct {
	mu       sync.Mutex
	outcomes map[string]int
	commits  int
	requests int
	events   int
}

func (o *observed) AppendDone(elapsed time.Duration, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if elapsed <= 0 {
		outcome = "no time"
	}
	o.outcomes[outcome]++
}

func (o *observed) BatchCommitted(requests, events int, elapsed time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if elapsed <= 0 {
		return
	}
	o.commits++
	o.requests += requests
	o.events += events
}

// The observer is told every append's outcome and every commit's size, and the sizes add
// up to what the store's own statistics say.
func TestAppendObserver(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	obs := &observed{outcomes: map[string]int{}}
	s := eventstore.NewPostgres(pool, eventstore.PostgresOptions{Observer: obs})
	t.Cleanup(func() {
		s.Close()
		pool.Close()
	})
	const writers, each = 16, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.Append(context.Background(), eventstore.StreamAppend{Environment: "env-a",
					Stream: fmt.Sprintf("w%d-%d", w, i), Events: []eventstore.NewEvent{storetest.Event("thing.created", i)}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	commits, events, requests := s.Stats()
	// A conflict (alone in its batch: nothing is committed, so no commit is observed).: the stream exists already.
	_, err = s.Append(t.Context(), eventstore.StreamAppend{Environment: "env-a", Stream: "w0-0",
		ExpectedVersion: eventstore.ExpectNoStream, Events: []eventstore.NewEvent{storetest.Event("thing.created", 0)}})
	if eventstore.AppendOutcome(err) != eventstore.OutcomeConflict {
		t.Fatalf("conflicting append: %v", err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.outcomes[eventstore.OutcomeOK] != writers*each || obs.outcomes[eventstore.OutcomeConflict] != 1 || len(obs.outcomes) != 2 {
		t.Errorf("outcomes %v", obs.outcomes)
	}
	if int64(obs.commits) != commits || int64(obs.events) != events || int64(obs.requests) != requests {
		t.Errorf("observed %d commits, %d events, %d requests; the store counted %d, %d, %d",
			obs.commits, obs.events, obs.requests, commits, events, requests)
	}
}
