package workers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/internal/pgtest"
	"github.com/paylent/paylent/workers"
)

// The relay runs in a child process (this test binary) so that a test can kill it for real.
const (
	helperEnv   = "PAYLENT_TEST_RELAY_HELPER"
	helperDBEnv = "PAYLENT_TEST_RELAY_DB"
	helperNATS  = "PAYLENT_TEST_RELAY_NATS"
)

// testSigner is the event-signing key every relay of these tests shares, as instances with
// one master key do.
var testSigner = eventsig.Derive(bytes.Repeat([]byte{7}, 32), eventsig.CurrentVersion)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		runRelayHelper()
		return
	}
	pgtest.Main(m)
}

func runRelayHelper() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, os.Getenv(helperDBEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	_, js := connectJS(os.Getenv(helperNATS))
	relay := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: js, Signer: testSigner, PollInterval: 100 * time.Millisecond})
	relay.Run(ctx) //nolint:errcheck // runs until killed
}

func connectJS(url string) (*nats.Conn, jetstream.JetStream) {
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		panic(err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(5*time.Second))
	if err != nil {
		panic(err)
	}
	return nc, js
}

type child struct{ cmd *exec.Cmd }

func startRelayProcess(t *testing.T, dbURL, natsURL string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperDBEnv+"="+dbURL, helperNATS+"="+natsURL)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(c.kill)
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // may be gone already
		c.cmd.Wait()                          //nolint:errcheck // killed on purpose
	}
}

// Many concurrent appenders write 100,000 events while relays publish them; the publishing
// relay is SIGKILLed twice mid-way (another instance's relay takes over, and the killed one
// comes back). At the end JetStream holds every event exactly once, in position order.
func TestRelayPublishesEveryEventOnceAcrossCrashes(t *testing.T) {
	const total, writers = 100_000, 32
	if testing.Short() {
		t.Skip("the 100k-event relay proof runs without -short")
	}
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

	// Writers: single-event appends over many streams and environments, all concurrent.
	var written atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += writers {
				_, err := store.Append(context.Background(), eventstore.StreamAppend{
					Environment: fmt.Sprintf("env-%d", i%1000%5), Stream: fmt.Sprintf("thing-%d", i%1000),
					ExpectedVersion: eventstore.ExpectAny,
					Events: []eventstore.NewEvent{{Type: "thing.touched", SchemaVersion: 1,
						Data: []byte(`{"i":` + strconv.Itoa(i) + `}`), OccurredAt: time.Now(), Actor: domain.Actor{Kind: domain.ActorSystem}}},
				})
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}()
	}

	first := startRelayProcess(t, dbURL, ns.ClientURL())
	// A second instance's relay, in this process, stands by.
	standbyCtx, stopStandby := context.WithCancel(t.Context())
	standby := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: js, Signer: testSigner, PollInterval: 100 * time.Millisecond})
	standbyDone := make(chan struct{})
	go func() { standby.Run(standbyCtx); close(standbyDone) }() //nolint:errcheck // ends with ctx

	stream := waitForStream(t, js)
	waitForMessages(t, stream, 20_000, 2*time.Minute)
	first.kill() // crash mid-publish: the standby takes over
	waitForMessages(t, stream, 50_000, 2*time.Minute)
	if !standby.Leader() {
		t.Error("the standby relay did not take over")
	}
	second := startRelayProcess(t, dbURL, ns.ClientURL())
	stopStandby() // now the leader goes away cleanly; the restarted child takes over
	<-standbyDone
	waitForMessages(t, stream, 70_000, 2*time.Minute)
	second.kill()
	startRelayProcess(t, dbURL, ns.ClientURL())

	wg.Wait()
	if written.Load() != total {
		t.Fatalf("only %d of %d appends succeeded", written.Load(), total)
	}
	waitForMessages(t, stream, total, 2*time.Minute)
	checkStream(t, js, total)
}

func waitForStream(t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := js.Stream(t.Context(), domain.StreamName)
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream never appeared: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitForMessages(t *testing.T, s jetstream.Stream, n uint64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		info, err := s.Info(t.Context())
		if err == nil && info.State.Msgs >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream has %v messages after %s, want %d (%v)", info.State.Msgs, within, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkStream reads the whole stream: message i must carry position i, and no event id
// may appear twice.
func checkStream(t *testing.T, js jetstream.JetStream, total int) {
	t.Helper()
	s, err := js.Stream(t.Context(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(total) {
		t.Fatalf("stream holds %d messages, want exactly %d", info.State.Msgs, total)
	}
	cons, err := js.OrderedConsumer(t.Context(), domain.StreamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	seen := make(map[string]bool, total)
	for i := 1; i <= total; i++ {
		msg, err := it.Next()
		if err != nil {
			t.Fatalf("reading message %d: %v", i, err)
		}
		var env domain.Envelope
		if err := json.Unmarshal(msg.Data(), &env); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if env.Position != int64(i) {
			t.Fatalf("message %d carries position %d: a gap, a duplicate or a reordering", i, env.Position)
		}
		if seen[env.ID] {
			t.Fatalf("event %s published twice", env.ID)
		}
		seen[env.ID] = true
		if msg.Subject() != env.Subject() || msg.Headers().Get(jetstream.MsgIDHeader) != env.ID {
			t.Fatalf("message %d: subject %s, msg id %s", i, msg.Subject(), msg.Headers().Get(jetstream.MsgIDHeader))
		}
	}
}

// A message someone else published on our subjects must not wedge the relay.
func TestRelaySkipsForeignMessages(t *testing.T) {
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
	if _, err := workers.EnsureStream(t.Context(), js, workers.StreamSettings{}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(t.Context(), "paylent.events.env-0.thing.touched", []byte("junk")); err != nil {
		t.Fatal(err)
	}
	appendN := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := store.Append(t.Context(), eventstore.StreamAppend{Environment: "env-0", Stream: "thing-1",
				ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{{Type: "thing.touched", SchemaVersion: 1,
					Data: []byte(`{}`), OccurredAt: time.Now(), Actor: domain.Actor{Kind: domain.ActorSystem}}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(3)
	ctx, cancel := context.WithCancel(t.Context())
	relay := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: js, Signer: testSigner, PollInterval: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }() //nolint:errcheck // ends with ctx
	stream := waitForStream(t, js)
	waitForMessages(t, stream, 4, 10*time.Second)
	// Junk again, now after our events, then a restart of the relay: it must resume after
	// position 3, not from the start and not stuck on the junk.
	if _, err := js.Publish(t.Context(), "paylent.events.env-0.thing.touched", []byte("more junk")); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	appendN(2)
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	relay2 := workers.NewRelay(workers.RelayOptions{Pool: pool, Store: store, JetStream: js, Signer: testSigner, PollInterval: 50 * time.Millisecond})
	go relay2.Run(ctx2) //nolint:errcheck // ends with ctx
	waitForMessages(t, stream, 7, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	info, _ := stream.Info(t.Context())
	if info.State.Msgs != 7 || relay2.Published() != 5 {
		t.Errorf("stream holds %d messages (want 2 junk + 5 events), relay at %d", info.State.Msgs, relay2.Published())
	}
}

func pgtestURL(t *testing.T) string { return pgtest.URL(t) }
