package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/internal/pgcluster"
	"github.com/paylent/paylent/internal/pgtest"
)

// Three nats-server processes in one JetStream cluster (deploy/nats's identities and
// rights), one PostgreSQL and three Paylent instances, under a steady load of token
// issuance and revocation and Management API writes. While it runs: the NATS node leading
// PAYLENT_EVENTS is killed and comes back; the instance leading the relay is killed (and
// restarted); PostgreSQL restarts. Afterwards every 2xx has its event, the stream holds
// every position exactly once and in order, every instance's read models equal a rebuild,
// a token revoked before the faults is inactive everywhere, and `paylent verify` passes.
//
// 20 to 50 s on two cores; it runs with the other end-to-end tests (two at a time), and
// alone, repeatedly, with scripts/cluster-test.sh.
func TestNATSClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three NATS servers, PostgreSQL and three instances")
	}
	t.Parallel()
	started := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(started).Seconds(), what) }
	c := startClusterStack(t, phase)

	// Revoked before the faults, on another instance than the one that issued it.
	before, _ := c.load.token(c.insts[0])
	if before == "" || c.load.revoke(c.insts[1], before) != 200 {
		t.Fatal("token issued and revoked before the faults")
	}
	ctx, stopLoad := context.WithTimeout(t.Context(), 3*time.Minute)
	defer stopLoad()
	loaded := make(chan struct{})
	go func() { defer close(loaded); c.load.run(ctx, 20000, 60, 4) }()
	c.load.waitProgress(t, 30, "start")
	phase("load started")
	killStreamLeader(t, c.nats, c.sub, c.load)
	phase("stream leader's node killed and back")
	killRelayLeader(t, c.insts, c.load, c.env)
	phase("relay leader's instance killed and back")
	restartPostgres(t, c.pg, c.insts, c.load, c.env)
	phase("PostgreSQL restarted")
	stopLoad()
	<-loaded
	t.Logf("load: %s", c.load.summary())

	for i, ci := range c.insts {
		eventually(t, 30*time.Second, fmt.Sprintf("instance %d: the token revoked before the faults is inactive", i), func() bool {
			active, answered := c.load.active(ci, before)
			return answered && !active
		})
	}
	events := streamEvents(t, c.sub, headPosition(t, c.stack.dbURL))
	checkEveryWriteHasItsEvent(t, c.load, events, jwtID(before))
	phase(fmt.Sprintf("%d events on the stream checked", len(events)))
	for i, ci := range c.insts {
		ci.stop() // writes the checkpoints of its read models
		if out := ci.output(); strings.Contains(out, "panic") || strings.Contains(out, "worker stopped") {
			t.Errorf("instance %d: a panic or a stopped worker:\n%s", i, tail(out, 5000))
		}
	}
	checkReadModelsEqualRebuild(t, c.stack, c.insts)
	if code, out, errOut := cli(t, c.stack.cliEnv, "verify", "--env", c.env); code != 0 {
		t.Errorf("verify: %d %s%s", code, out, errOut)
	}
	phase("read models and hash chain checked")
}

// clusterStack is the cluster test's world: NATS nodes, PostgreSQL, three instances (the
// stack's a and b are the first two, for its helpers), the load and a subscriber.
type clusterStack struct {
	nats  *natsCluster
	pg    *pgcluster.Cluster
	insts []*clusterInstance
	stack *stack
	load  *clusterLoad
	sub   jetstream.JetStream
	env   string
}

// startClusterStack starts everything, makes environment acme-test with a client for
// tokens and a Management API token, and checks that the stream and the rate-limit bucket
// have three replicas.
func startClusterStack(t *testing.T, phase func(string)) *clusterStack {
	t.Helper()
	c := &clusterStack{nats: startNATSCluster(t, 3), env: "acme-test"}
	phase("NATS cluster healthy")
	c.pg = pgtest.NewCluster(t)
	dbURL := pgtest.MigratedURL(t, c.pg)
	shared := []string{"DATABASE_URL=" + dbURL, "NATS_URL=" + c.nats.url(), "NATS_CREDS=" + c.nats.creds["instance"],
		"PAYLENT_NATS_RELAY_CREDS=" + c.nats.creds["relay"], "PAYLENT_MASTER_KEY=" + strings.Repeat("c3", 32),
		"PAYLENT_RATE_LIMITS=off"} // one client address sends everything; the bucket is still made
	domain := fmt.Sprintf("localhost:%d", freePort(t))
	for range 3 {
		c.insts = append(c.insts, startClusterInstance(t, shared, domain))
	}
	c.stack = &stack{a: c.insts[0].instance, b: c.insts[1].instance, dbURL: dbURL, natsURL: c.nats.url(),
		cliEnv: append(shared[:len(shared):len(shared)], "PAYLENT_DATA_DIR="+dataDir(t), "PAYLENT_PUBLIC_DOMAIN="+domain)}
	c.stack.run(t, "env", "create", "--account", "acme", "--slug", c.env)
	for _, ci := range c.insts {
		ci.waitReady(c.env, time.Minute)
	}
	phase("instances ready")
	svc := c.stack.client(t, c.env, "--name", "svc", "--type", "confidential", "--grant", "client_credentials", "--token-format", "jwt")
	c.load = newClusterLoad(c.env, svc, c.stack.mgmtToken(t, c.env, "admin:read admin:write admin:users"), c.insts)
	eventually(t, 10*time.Second, "the client known on the third instance", func() bool {
		return c.load.revoke(c.insts[2], "unknown") == 200
	})
	phase("clients made")

	c.sub = c.nats.connect("subscriber", "_INBOX")
	eventually(t, 30*time.Second, "PAYLENT_EVENTS on three replicas", func() bool {
		return replicated(streamInfo(c.sub, "PAYLENT_EVENTS"), 3)
	})
	kv := c.nats.connect("instance", "_INBOX_PAYLENT_INSTANCE")
	if info := streamInfo(kv, "KV_PAYLENT_RATELIMITS"); info == nil || info.Config.Replicas != 3 {
		t.Errorf("rate-limit bucket: %+v, want three replicas", info)
	}
	return c
}

// killStreamLeader kills the NATS node that leads PAYLENT_EVENTS; the stream elects another
// leader and the load goes on; the node comes back and catches up.
func killStreamLeader(t *testing.T, nc *natsCluster, sub jetstream.JetStream, load *clusterLoad) {
	t.Helper()
	var leader string
	eventually(t, 30*time.Second, "the stream's leader", func() bool {
		info := streamInfo(sub, "PAYLENT_EVENTS")
		if info != nil && info.Cluster != nil {
			leader = info.Cluster.Leader
		}
		return leader != ""
	})
	nd := nc.node(leader)
	load.during("stream leader down")
	nc.kill(nd)
	eventually(t, time.Minute, "a new stream leader", func() bool {
		info := streamInfo(sub, "PAYLENT_EVENTS")
		return info != nil && info.Cluster != nil && info.Cluster.Leader != "" && info.Cluster.Leader != leader
	})
	load.waitProgress(t, 30, "stream leader "+leader+" killed")
	load.during("stream leader back")
	nc.start(nd)
	nc.waitHealthy(nd)
	eventually(t, time.Minute, leader+" back and current", func() bool { return replicated(streamInfo(sub, "PAYLENT_EVENTS"), 3) })
	load.waitProgress(t, 30, leader+" back")
}

// killRelayLeader kills the instance whose relay publishes; another takes over, and the
// killed one starts again from its last checkpoint.
func killRelayLeader(t *testing.T, insts []*clusterInstance, load *clusterLoad, env string) {
	t.Helper()
	leader := -1
	eventually(t, 30*time.Second, "one relay leader", func() bool {
		leader = -1
		for i, ci := range insts {
			if ci.relayLeader() {
				if leader >= 0 {
					return false
				}
				leader = i
			}
		}
		return leader >= 0
	})
	load.setDown(leader, true)
	load.during("relay leader down")
	insts[leader].kill()
	eventually(t, 30*time.Second, "another relay leader", func() bool {
		for i, ci := range insts {
			if i != leader && ci.relayLeader() {
				return true
			}
		}
		return false
	})
	load.waitProgress(t, 30, fmt.Sprintf("relay leader (instance %d) killed", leader))
	load.during("relay leader back")
	insts[leader].restart(t)
	insts[leader].waitReady(env, time.Minute)
	load.setDown(leader, false)
}

// restartPostgres stops the database and starts it again; every instance becomes ready again.
func restartPostgres(t *testing.T, pg *pgcluster.Cluster, insts []*clusterInstance, load *clusterLoad, env string) {
	t.Helper()
	load.during("PostgreSQL restart")
	if err := pg.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: pg.Dir, Port: pg.Port}); err != nil {
		t.Fatal(err)
	}
	for _, ci := range insts {
		ci.waitReady(env, time.Minute)
	}
	load.during("PostgreSQL back")
	load.waitProgress(t, 30, "PostgreSQL restarted")
}

func headPosition(t *testing.T, dbURL string) int64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var head int64
	if err := conn.QueryRow(t.Context(), `SELECT coalesce(max(position), 0) FROM events`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	return head
}

type streamEvent struct {
	Position int64           `json:"position"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
}

// streamEvents reads PAYLENT_EVENTS from its start until it has the event at head, and
// checks that message i carries position i: no event skipped or repeated.
func streamEvents(t *testing.T, js jetstream.JetStream, head int64) []streamEvent {
	t.Helper()
	cons, err := js.OrderedConsumer(t.Context(), "PAYLENT_EVENTS", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var events []streamEvent
	deadline := time.Now().Add(time.Minute)
	for int64(len(events)) < head && time.Now().Before(deadline) {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			var e streamEvent
			if err := json.Unmarshal(m.Data(), &e); err != nil {
				t.Fatalf("message %s: %v", m.Subject(), err)
			}
			events = append(events, e)
		}
	}
	if int64(len(events)) != head {
		t.Fatalf("the stream has %d messages, the event log %d events", len(events), head)
	}
	for i, e := range events {
		if e.Position != int64(i+1) {
			t.Fatalf("message %d carries position %d: an event is skipped or repeated", i+1, e.Position)
		}
	}
	return events
}

// checkEveryWriteHasItsEvent finds on the stream the event of every 2xx the load got.
func checkEveryWriteHasItsEvent(t *testing.T, load *clusterLoad, events []streamEvent, beforeJTI string) {
	t.Helper()
	issued, revoked := map[string]bool{}, map[string]bool{}
	for _, e := range events {
		var d struct {
			JTI string `json:"jti"`
		}
		json.Unmarshal(e.Data, &d) //nolint:errcheck // other events have no jti
		switch e.Type {
		case "token.issued":
			issued[d.JTI] = true
		case "token.revoked":
			revoked[d.JTI] = true
		}
	}
	load.mu.Lock()
	defer load.mu.Unlock()
	for jti := range load.issued {
		if !issued[jti] {
			t.Errorf("token %s answered 200 but has no token.issued event", jti)
		}
	}
	for _, jti := range append(load.revoked, beforeJTI) {
		if !revoked[jti] {
			t.Errorf("revocation of %s answered 200 but has no token.revoked event", jti)
		}
	}
	byID := func(kind string, created map[int64]string) {
		for pos, id := range created {
			e := events[pos-1]
			if !strings.HasPrefix(e.Type, kind+".") || !strings.Contains(string(e.Data), `"`+id+`"`) {
				t.Errorf("%s %s answered 201 at position %d, where the stream has %s %s", kind, id, pos, e.Type, e.Data)
			}
		}
	}
	byID("client", load.clients)
	byID("user", load.users)
}

// checkReadModelsEqualRebuild compares each stopped instance's checkpoints with a rebuild
// from the event log in a fresh data directory.
func checkReadModelsEqualRebuild(t *testing.T, s *stack, insts []*clusterInstance) {
	t.Helper()
	rebuilt := dataDir(t)
	env := append(s.cliEnv[:len(s.cliEnv):len(s.cliEnv)], "PAYLENT_DATA_DIR="+rebuilt)
	if code, out, errOut := cli(t, env, "projections", "rebuild"); code != 0 {
		t.Fatalf("projections rebuild: %d %s%s", code, out, errOut)
	}
	want, err := filepath.Glob(filepath.Join(rebuilt, "projections", "*.checkpoint.json"))
	if err != nil || len(want) == 0 {
		t.Fatalf("no rebuilt checkpoints: %v", err)
	}
	for i, ci := range insts {
		for _, w := range want {
			got := filepath.Join(envValue(ci.env, "PAYLENT_DATA_DIR"), "projections", filepath.Base(w))
			if !sameCheckpoint(t, got, w) {
				t.Errorf("instance %d: %s differs from a rebuild", i, filepath.Base(w))
			}
		}
	}
}

func sameCheckpoint(t *testing.T, a, b string) bool {
	t.Helper()
	read := func(p string) any {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return v
	}
	return reflect.DeepEqual(read(a), read(b))
}
