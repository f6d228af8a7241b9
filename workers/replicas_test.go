package workers_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/workers"
)

// startCluster runs n in-process nats-servers with JetStream, routed into one cluster on
// loopback, and returns their client URLs once JetStream answers.
func startCluster(t *testing.T, n int) []string {
	t.Helper()
	routePorts := make([]int, n)
	for i := range routePorts {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routePorts[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	urls := make([]string, n)
	for i := range n {
		opts := &server.Options{ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "paylent-test", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ","))}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(s.Shutdown)
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats-server not ready")
		}
		urls[i] = s.ClientURL()
	}
	return urls
}

// Automatic replicas: three on a three-node cluster (learned from the one server the client
// was given), one on a single server; an explicit count is applied as is, and automatic
// never takes copies away from a stream that has more.
func TestStreamReplicasFollowTheCluster(t *testing.T) {
	t.Run("single server", func(t *testing.T) {
		nc, js := connectJS(natstest.Start(t).ClientURL())
		defer nc.Close()
		st, err := workers.EnsureStream(t.Context(), js, workers.StreamSettings{})
		if err != nil {
			t.Fatal(err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 1 || workers.ClusterSize(nc) != 1 {
			t.Errorf("single server: replicas %d, cluster size %d", r, workers.ClusterSize(nc))
		}
	})
	t.Run("three nodes", func(t *testing.T) {
		urls := startCluster(t, 3)
		nc, js := connectJS(urls[0])
		defer nc.Close()
		var st jetstream.Stream
		deadline := time.Now().Add(30 * time.Second)
		for { // the cluster elects its JetStream meta leader first
			var err error
			if st, err = workers.EnsureStream(t.Context(), js, workers.StreamSettings{}); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("three nodes: replicas %d (cluster size %d, servers %v)", r, workers.ClusterSize(nc), nc.Servers())
		}
		if st, err := workers.EnsureStream(t.Context(), js, workers.StreamSettings{Replicas: 1}); err != nil || st.CachedInfo().Config.Replicas != 1 {
			t.Fatalf("explicit 1: %v", err)
		}
		if st, err := workers.EnsureStream(t.Context(), js, workers.StreamSettings{Replicas: 2}); err != nil || st.CachedInfo().Config.Replicas != 2 {
			t.Fatalf("explicit 2: %v", err)
		}
		// A client that sees only its own server (discovery ignored) estimates one, and
		// still keeps the stream's two.
		narrow, err := nats.Connect(urls[1], nats.IgnoreDiscoveredServers())
		if err != nil {
			t.Fatal(err)
		}
		defer narrow.Close()
		njs, _ := jetstream.New(narrow)
		if n := workers.ClusterSize(narrow); n != 1 {
			t.Errorf("cluster size without discovery: %d", n)
		}
		if st, err := workers.EnsureStream(t.Context(), njs, workers.StreamSettings{}); err != nil || st.CachedInfo().Config.Replicas != 2 {
			t.Fatalf("automatic after explicit 2: %v", err)
		}
	})
}
