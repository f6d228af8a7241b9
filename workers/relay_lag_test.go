package workers_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/internal/pgtest"
	"github.com/paylent/paylent/workers"
)

type publishedCount struct{ n atomic.Int64 }

func (p *publishedCount) EventsPublished(n int) { p.n.Add(int64(n)) }

// Lag counts the positions not yet published and the age of the oldest of them: from the
// checkpoint on an instance standing by, from what the stream acknowledged on the leader.
// The observer is told of every published event.
func TestRelayLag(t *testing.T) {
	dbURL := pgtest.URL(t)
	ns := natstest.Start(t)
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	defer store.Close()
	nc, js := connectJS(ns.ClientURL())
	defer nc.Close()
	appendAt := func(at time.Time) {
		t.Helper()
		if _, err := store.Append(t.Context(), eventstore.StreamAppend{Environment: "env-0", Stream: "thing-1",
			ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{{Type: "thing.touched", SchemaVersion: 1,
				Data: []byte(`{}`), OccurredAt: at, Actor: domain.Actor{Kind: domain.ActorSystem}}}}); err != nil {
			t.Fatal(err)
		}
	}
	appendAt(time.Now().Add(-time.Minute))
	appendAt(time.Now())
	appendAt(time.Now())

	count := &publishedCount{}
	relay := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: js, Signer: testSigner,
		PollInterval: 50 * time.Millisecond, Observer: count})
	lag, err := relay.Lag(t.Context(), 3)
	if err != nil || lag.Leader || lag.Behind != 3 || lag.Oldest < time.Minute || lag.Oldest > 2*time.Minute {
		t.Fatalf("before the relay ran: %+v %v", lag, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }() //nolint:errcheck // ends with ctx
	for deadline := time.Now().Add(10 * time.Second); relay.Published() < 3 || !relay.Leader(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("relay published %d of 3", relay.Published())
		}
	}
	if lag, err := relay.Lag(t.Context(), 3); err != nil || !lag.Leader || lag.Behind != 0 || lag.Oldest != 0 {
		t.Errorf("caught up: %+v %v", lag, err)
	}
	if count.n.Load() != 3 {
		t.Errorf("observer told of %d published events, want 3", count.n.Load())
	}
	// Another instance's relay, standing by, reads the checkpoint the leader writes when idle.
	standby := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: js, Signer: testSigner})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if lag, err := standby.Lag(t.Context(), 3); err == nil && lag.Behind == 0 && !lag.Leader {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby never saw the relay's checkpoint reach 3")
		}
	}
	cancel()
	<-done

	appendAt(time.Now().Add(-10 * time.Second))
	appendAt(time.Now())
	lag, err = standby.Lag(t.Context(), 5)
	if err != nil || lag.Leader || lag.Behind != 2 || lag.Oldest < 10*time.Second || lag.Oldest > time.Minute {
		t.Errorf("standby after two more events: %+v %v", lag, err)
	}
}
