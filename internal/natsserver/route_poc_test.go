//go:build poc

// Proof of a known, documented limit (docs/DEPLOYMENT.md: "The file does not authenticate
// routes"), kept out of the normal runs because it fails until routes are authenticated:
//
//	go test -tags poc ./internal/natsserver -run TestRogueRoute -v
package natsserver_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/internal/natsserver"
)

// A node running deploy/nats/nats-cluster.conf accepts a route from any server that can
// reach its cluster port; that rogue server's anonymous clients then read every event and
// publish where only the relay may.
func TestRogueRoute(t *testing.T) {
	dir := t.TempDir()
	creds, err := natsserver.EnsureCredentials(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"nats-server.conf", "nats-cluster.conf"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("NATS_SERVER_NAME", "nats-1")
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats-cluster.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.HTTPPort, opts.StoreDir, opts.NoSigs = "127.0.0.1", server.RANDOM_PORT, 0, t.TempDir(), true
	opts.Cluster.Host, opts.Cluster.Port, opts.Routes, opts.ClientAdvertise = "127.0.0.1", server.RANDOM_PORT, nil, ""
	opts.JetStream = false // JetStream clustered on one node does not start alone; core NATS shows the route
	real, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go real.Start()
	defer real.Shutdown()
	if !real.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	t.Logf("real node: cluster auth required=%v", opts.Cluster.Username != "")

	rogueOpts := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		Cluster: server.ClusterOpts{Name: "paylent", Host: "127.0.0.1", Port: server.RANDOM_PORT},
		Routes:  server.RoutesFromStr("nats-route://127.0.0.1:" + strconv.Itoa(real.ClusterAddr().Port))}
	rogue, err := server.NewServer(rogueOpts)
	if err != nil {
		t.Fatal(err)
	}
	go rogue.Start()
	defer rogue.Shutdown()
	if !rogue.ReadyForConnections(5 * time.Second) {
		t.Fatal("rogue not ready")
	}
	deadline := time.Now().Add(5 * time.Second)
	for real.NumRoutes() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("routes on the real node: %d", real.NumRoutes())

	anon, err := nats.Connect(rogue.ClientURL()) // no credentials at all
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	got, _ := anon.SubscribeSync("paylent.events.>")
	anon.Flush()
	time.Sleep(300 * time.Millisecond)

	relayKey, _ := nats.NkeyOptionFromSeed(creds.Path(natsserver.Role("relay")))
	relay, err := nats.Connect(real.ClientURL(), relayKey, nats.CustomInboxPrefix("_INBOX_PAYLENT_RELAY"))
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	relay.Publish("paylent.events.acme-live.user.created", []byte(`{"email":"ceo@acme.example"}`))
	relay.Flush()
	if m, err := got.NextMsg(2 * time.Second); err == nil {
		t.Errorf("an anonymous client of a rogue route read %s: %s", m.Subject, m.Data)
	}

	subKey, _ := nats.NkeyOptionFromSeed(creds.Path(natsserver.Role("subscriber")))
	sub, err := nats.Connect(real.ClientURL(), subKey)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	in, _ := sub.SubscribeSync("paylent.events.>")
	sub.Flush()
	time.Sleep(300 * time.Millisecond)
	anon.Publish("paylent.events.acme-live.token.revoked", []byte("forged"))
	anon.Publish("$KV.PAYLENT_RATELIMITS.x", []byte("forged"))
	anon.Flush()
	if m, err := in.NextMsg(2 * time.Second); err == nil {
		t.Errorf("an anonymous client of a rogue route published %s (only the relay may): %s", m.Subject, m.Data)
	}
}
