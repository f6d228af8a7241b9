package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/workers"
)

const (
	// logEnvironments is how many environment streams the log fill spreads its events over.
	logEnvironments = 16
	// fillBatch is how many events one append of the log fill carries.
	fillBatch = 5000
	// relayTimeout bounds the wait for the relay (and its ceiling) to publish everything.
	relayTimeout = 10 * time.Minute
)

// logEvent returns the i-th event of the log fill: each environment stream starts with
// environment.created, then changes its settings over and over. Every event decodes with
// the domain registry, so the catalog projection can rebuild from the log.
func logEvent(i int) (domain.StreamRef, domain.Event) {
	k := i % logEnvironments
	slug := fmt.Sprintf("bench-%02d", k)
	ref := environment.Stream(slug)
	s := environment.DefaultSettings(slug)
	if i < logEnvironments {
		return ref, environment.Created{Environment: slug, Account: "bench", Settings: s}
	}
	s.DisplayName = fmt.Sprintf("Bench environment %d, revision %d", k, i/logEnvironments)
	s.AccessTokenLifetime = 60 + int64(i%3600)
	s.RegistrationEnabled = i%2 == 0
	return ref, environment.SettingsChanged{Settings: s}
}

// fillLog appends n events in big multi-stream appends (fillBatch events each) and returns
// the head position and the size of a typical event's data.
func fillLog(ctx context.Context, store *eventstore.Postgres, reg *domain.Registry, n int) (result, int, error) {
	actor := domain.Actor{Kind: domain.ActorOperator, ID: "operator-bench", IP: "198.51.100.4", UserAgent: "paylent-bench/1"}
	now := time.Now()
	var dataBytes int
	start := time.Now()
	for done := 0; done < n; {
		chunk := min(fillBatch, n-done)
		byStream := map[string]*eventstore.StreamAppend{}
		var order []string
		for i := done; i < done+chunk; i++ {
			ref, ev := logEvent(i)
			typ, ver, data, err := reg.Encode(ev)
			if err != nil {
				return result{}, 0, err
			}
			dataBytes = len(data)
			a := byStream[ref.Stream]
			if a == nil {
				a = &eventstore.StreamAppend{Environment: ref.Environment, Stream: ref.Stream, ExpectedVersion: eventstore.ExpectAny}
				byStream[ref.Stream] = a
				order = append(order, ref.Stream)
			}
			a.Events = append(a.Events, eventstore.NewEvent{Type: typ, SchemaVersion: ver, Data: data,
				OccurredAt: now.Add(time.Duration(i) * time.Millisecond), Actor: actor})
		}
		appends := make([]eventstore.StreamAppend, 0, len(order))
		for _, s := range order {
			appends = append(appends, *byStream[s])
		}
		if _, err := store.Append(ctx, appends...); err != nil {
			return result{}, 0, fmt.Errorf("fill the log: %w", err)
		}
		done += chunk
	}
	r := newResult(fmt.Sprintf("append batch of %d (log fill)", fillBatch), int64(n), time.Since(start))
	r.Note = "events/s; multi-stream appends, untimed setup shown for reference"
	return r, dataBytes, nil
}

// benchRelay runs the relay against an empty JetStream until the stream holds every event
// of the log (head is the log's last position).
func benchRelay(ctx context.Context, b *bench, pool *pgxpool.Pool, store *eventstore.Postgres, n int, head int64, log *slog.Logger) (result, error) {
	relay := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: b.js, Logger: log,
		Signer: eventsig.Derive(make([]byte, 32), eventsig.CurrentVersion)}) // signing on, as in serve
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- relay.Run(runCtx) }()
	err := waitUntil(ctx, func() bool { return relay.Published() >= head })
	elapsed := time.Since(start)
	cancel()
	<-done
	if err != nil {
		return result{}, fmt.Errorf("relay: published %d of %d: %w", relay.Published(), head, err)
	}
	st, err := b.js.Stream(ctx, domain.StreamName)
	if err != nil {
		return result{}, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return result{}, err
	}
	if info.State.Msgs != uint64(n) {
		return result{}, fmt.Errorf("relay: stream %s holds %d messages, want %d", domain.StreamName, info.State.Msgs, n)
	}
	r := newResult("relay", int64(n), elapsed)
	r.Ceiling = "raw jetstream publish"
	r.Note = "events/s, log → PAYLENT_EVENTS (file storage)"
	return r, nil
}

// benchRawPublish async-publishes the JSON of the log's envelopes (encoded beforehand) to a
// scratch stream configured like PAYLENT_EVENTS, and waits for every acknowledgement: no
// reads from PostgreSQL, no message ids or expected sequences, no checkpoints.
func benchRawPublish(ctx context.Context, b *bench, store *eventstore.Postgres, n int) (result, error) {
	subjects, payloads := make([]string, 0, n), make([][]byte, 0, n)
	for after := int64(0); ; {
		batch, err := store.ReadAll(ctx, after, fillBatch)
		if err != nil {
			return result{}, err
		}
		for _, env := range batch {
			data, err := json.Marshal(env)
			if err != nil {
				return result{}, err
			}
			subjects = append(subjects, "bench.raw."+env.Environment+"."+env.Type)
			payloads = append(payloads, data)
			after = env.Position
		}
		if len(batch) < fillBatch {
			break
		}
	}
	st, err := b.js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "BENCH_RAW", Subjects: []string{"bench.raw.>"},
		Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld,
		Duplicates: 2 * time.Minute, Replicas: 1, DenyDelete: true,
	})
	if err != nil {
		return result{}, fmt.Errorf("create scratch stream: %w", err)
	}
	futures := make([]jetstream.PubAckFuture, 0, len(payloads))
	start := time.Now()
	for i := range payloads {
		f, err := b.js.PublishMsgAsync(&nats.Msg{Subject: subjects[i], Data: payloads[i]})
		if err != nil {
			return result{}, fmt.Errorf("raw publish: %w", err)
		}
		futures = append(futures, f)
	}
	timeout := time.After(relayTimeout)
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return result{}, fmt.Errorf("raw publish: %w", err)
		case <-timeout:
			return result{}, fmt.Errorf("raw publish: no acknowledgement after %v", relayTimeout)
		case <-ctx.Done():
			return result{}, ctx.Err()
		}
	}
	elapsed := time.Since(start)
	info, err := st.Info(ctx)
	if err != nil {
		return result{}, err
	}
	if info.State.Msgs != uint64(len(payloads)) {
		return result{}, fmt.Errorf("raw publish: scratch stream holds %d messages, want %d", info.State.Msgs, len(payloads))
	}
	r := newResult("raw jetstream publish", int64(len(payloads)), elapsed)
	r.IsCeiling = true
	r.Note = "events/s, same envelopes' JSON, async publish"
	return r, nil
}

// waitUntil polls cond every 2 ms until it holds, ctx ends or relayTimeout passes.
func waitUntil(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(relayTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %v", relayTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
