package projections_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/internal/pgtest"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/workers"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// relaySigner is the relay's event-signing key in these tests; relayKeys verify it.
var (
	relaySigner = eventsig.Derive(bytes.Repeat([]byte{1}, 32), eventsig.CurrentVersion)
	relayKeys   = eventsig.NewKeySet(relaySigner.Public())
)

type liveRig struct {
	store *eventstore.Postgres
	loop  *eventstore.Loop
	js    jetstream.JetStream
	nc    *nats.Conn
}

func newLiveRig(t *testing.T, natsURL string) *liveRig {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	t.Cleanup(store.Close)
	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	relay := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: js, Signer: relaySigner, PollInterval: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }() //nolint:errcheck // ends with ctx
	t.Cleanup(func() { cancel(); <-done })
	return &liveRig{store: store, loop: eventstore.NewLoop(store, eventtypes.Registry(), time.Now), js: js, nc: nc}
}

// With polling and nudges switched off, only JetStream can bring events to the projection:
// this proves the fast path, then that the projection survives NATS going away and coming
// back, ignores junk on its subjects, and ends equal to a rebuild from PostgreSQL.
func TestRuntimeFollowsJetStream(t *testing.T) {
	ns := natstest.Start(t)
	rig := newLiveRig(t, ns.ClientURL())
	cat := catalog.New()
	rt, _ := start(t, projections.Options{Projection: cat, Source: rig.store, Registry: eventtypes.Registry(),
		JetStream: rig.js, Keys: relayKeys, PollInterval: time.Hour, NudgeAfter: time.Hour})
	waitReady(t, rt)

	last := createEnvs(t, rig.loop, 30, "fast")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := rt.WaitFor(ctx, last); err != nil {
		t.Fatalf("JetStream did not deliver: %v", err)
	}

	// Junk on our subjects is not an event: ignored, nothing stops.
	if err := rig.nc.Publish("paylent.events.fast-1.environment.created", []byte("not an envelope")); err != nil {
		t.Fatal(err)
	}

	// NATS goes down: writes still succeed (the log is the truth).
	ns.Shutdown()
	during := createEnvs(t, rig.loop, 10, "outage")
	if during <= last {
		t.Fatal("no events appended during the outage")
	}
	ns = natstest.Restart(t, ns)
	after := createEnvs(t, rig.loop, 10, "back")
	ctx2, cancel2 := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel2()
	if werr := rt.WaitFor(ctx2, after); werr != nil {
		st, err := rig.js.Stream(t.Context(), "PAYLENT_EVENTS")
		t.Logf("stream: %v; conn %v %v", err, rig.nc.Status(), rig.nc.ConnectedUrl())
		if st != nil {
			info, _ := st.Info(t.Context())
			t.Logf("stream state: %+v", info.State)
		}
		t.Fatalf("after NATS came back: %v", werr)
	}
	if st := rt.Status(); !st.Ready || st.Error != "" {
		t.Errorf("status %+v", st)
	}
	fresh := catalog.New()
	if _, _, err := projections.Replay(t.Context(), rig.store, eventtypes.Registry(), fresh); err != nil {
		t.Fatal(err)
	}
	live, _ := cat.Snapshot()
	rebuilt, _ := fresh.Snapshot()
	if !bytes.Equal(live, rebuilt) {
		t.Errorf("live projection differs from a rebuild:\nlive    %s\nrebuilt %s", live, rebuilt)
	}
	for _, slug := range []string{"fast-29", "outage-9", "back-9"} {
		if _, ok := cat.Environment(slug); !ok {
			t.Errorf("%s missing", slug)
		}
	}
}

// Two instances, each with its own projection; one appends, the other sees it through NATS.
func TestSecondInstanceSeesWritesThroughNATS(t *testing.T) {
	ns := natstest.Start(t)
	rig := newLiveRig(t, ns.ClientURL())
	other, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherJS, _ := jetstream.New(other)
	cat := catalog.New()
	rt, _ := start(t, projections.Options{Projection: cat, Source: rig.store, Registry: eventtypes.Registry(),
		JetStream: otherJS, Keys: relayKeys, PollInterval: time.Hour, NudgeAfter: time.Hour})
	waitReady(t, rt)
	res, err := rig.loop.Execute(t.Context(), environment.Create{Account: "acme", Slug: "acme-test"}, system)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := rt.WaitFor(ctx, res.Position); err != nil {
		t.Fatal(err)
	}
	if env, ok := cat.Environment("acme-test"); !ok || env.Account != "acme" {
		t.Errorf("acme-test: %+v %v", env, ok)
	}
}

func waitReady(t *testing.T, rt *projections.Runtime) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !rt.Status().Ready || !rt.Status().Following; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("runtime never became ready: %+v", rt.Status())
		}
	}
}
