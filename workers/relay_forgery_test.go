package workers_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/internal/pgtest"
	"github.com/paylent/paylent/workers"
)

// With full NATS rights (a simulated compromise), someone publishes on our subjects: a
// made-up event at the next position (signed by a stranger, and unsigned with a position
// header), a genuine message replayed with altered data, and a genuine message replayed as
// is. The relay is stopped and started again in between, so that it must resynchronise from
// the stream alone. It must never take a position from what it cannot verify: the real
// events at the forged positions are published, each once, and every signed message on
// the stream is the store's event.
func TestRelayResyncTrustsOnlyItsOwnSignedMessages(t *testing.T) {
	ns := natstest.Start(t)
	pool, err := pgxpool.New(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	defer store.Close()
	nc, js := connectJS(ns.ClientURL())
	defer nc.Close()
	appendN := func(n int) {
		t.Helper()
		for range n {
			if _, err := store.Append(t.Context(), eventstore.StreamAppend{Environment: "env-0", Stream: "thing-1",
				ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{{Type: "thing.touched", SchemaVersion: 1,
					Data: []byte(`{"n":1}`), OccurredAt: time.Now(), Actor: domain.Actor{Kind: domain.ActorSystem}}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	runRelay := func() func() {
		ctx, cancel := context.WithCancel(t.Context())
		relay := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: js, Signer: testSigner, PollInterval: 20 * time.Millisecond})
		done := make(chan struct{})
		go func() { relay.Run(ctx); close(done) }() //nolint:errcheck // ends with ctx
		return func() { cancel(); <-done }
	}

	appendN(3)
	stop := runRelay()
	stream := waitForStream(t, js)
	waitForMessages(t, stream, 3, 10*time.Second)
	stop()

	genuine, err := stream.GetMsg(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	var real2 domain.Envelope
	if err := json.Unmarshal(genuine.Data, &real2); err != nil {
		t.Fatal(err)
	}
	forge := func(env domain.Envelope, sig string) {
		t.Helper()
		data, _ := json.Marshal(env)
		msg := &nats.Msg{Subject: env.Subject(), Data: data, Header: nats.Header{}}
		msg.Header.Set(workers.PositionHeader, strconv.FormatInt(env.Position, 10))
		if sig != "" {
			msg.Header.Set(eventsig.Header, sig)
		}
		if _, err := js.PublishMsg(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
	}
	// A genuine message replayed as is: it verifies, and names an old position.
	replay := &nats.Msg{Subject: genuine.Subject, Data: genuine.Data, Header: nats.Header{}}
	replay.Header.Set(eventsig.Header, genuine.Header.Get(eventsig.Header))
	if _, err := js.PublishMsg(t.Context(), replay); err != nil {
		t.Fatal(err)
	}
	altered := real2
	altered.Data = json.RawMessage(`{"n":666}`)
	forge(altered, genuine.Header.Get(eventsig.Header))
	madeUp := real2
	madeUp.ID, madeUp.Position, madeUp.StreamVersion, madeUp.PrevHash = "made-up", 4, 4, real2.Hash
	madeUp.Hash = eventstore.Hash(madeUp.PrevHash, madeUp)
	stranger := eventsig.Derive(make([]byte, 32), eventsig.CurrentVersion)
	forge(madeUp, stranger.Sign(madeUp.Hash))
	forge(madeUp, "")

	// The real events 4 and 5 are committed; a relay that starts now must publish both.
	appendN(2)
	stop = runRelay()
	defer stop()
	waitForMessages(t, stream, 3+4+2, 10*time.Second)

	keys := eventsig.NewKeySet(testSigner.Public())
	onStream := map[int64]int{}
	info, _ := stream.Info(t.Context())
	for s := uint64(1); s <= info.State.LastSeq; s++ {
		m, err := stream.GetMsg(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		env, err := keys.VerifyMessage(m.Subject, m.Header.Get(eventsig.Header), m.Data)
		if err != nil {
			continue
		}
		stored, err := store.ReadAll(t.Context(), env.Position-1, 1)
		if err != nil || len(stored) != 1 || stored[0].ID != env.ID || string(stored[0].Data) != string(env.Data) {
			t.Fatalf("signed message at sequence %d is not the store's event %d", s, env.Position)
		}
		onStream[env.Position]++
	}
	want := map[int64]int{1: 1, 2: 2, 3: 1, 4: 1, 5: 1} // 2 twice: once genuine, once replayed
	for p, n := range want {
		if onStream[p] != n {
			t.Errorf("position %d is on the stream %d times, want %d (all: %v)", p, onStream[p], n, onStream)
		}
	}
	if info.State.Msgs != 9 {
		t.Errorf("stream holds %d messages, want 9", info.State.Msgs)
	}
}
