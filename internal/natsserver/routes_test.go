package natsserver_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/paylent/paylent/internal/natsserver"
)

// logLines records what a nats-server logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
}
func (l *logLines) Noticef(format string, v ...any) { l.add(format, v...) }
func (l *logLines) Warnf(format string, v ...any)   { l.add(format, v...) }
func (l *logLines) Fatalf(format string, v ...any)  { l.add(format, v...) }
func (l *logLines) Errorf(format string, v ...any)  { l.add(format, v...) }
func (l *logLines) Debugf(format string, v ...any)  { l.add(format, v...) }
func (l *logLines) Tracef(format string, v ...any)  { l.add(format, v...) }

func (l *logLines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(strings.ToLower(line), s) {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return s
}

// A node running deploy/nats/nats-cluster.conf (with the routes.conf `paylent nats keygen`
// writes) refuses a route from a server that does not know the route password: such a
// server, had it joined, would read every event and publish past every identity's rights.
// A node that knows the password joins.
func TestRoutesAreAuthenticated(t *testing.T) {
	dir := t.TempDir()
	creds, err := natsserver.EnsureCredentials(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	clusterPort := freeTCPPort(t)
	routes := []string{fmt.Sprintf("127.0.0.1:%d", clusterPort)}
	conf, err := creds.EnsureRoutes(routes)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(conf); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v, want mode 0600", conf, fi.Mode(), err)
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
	if opts.Cluster.Username != natsserver.RouteUser || len(opts.Cluster.Password) < 32 || len(opts.Routes) != 1 ||
		opts.Routes[0].User.Username() != natsserver.RouteUser {
		t.Fatalf("cluster authorization %q, routes %v: want the route user and password from routes.conf", opts.Cluster.Username, opts.Routes)
	}
	password := opts.Cluster.Password
	opts.Host, opts.Port, opts.HTTPPort, opts.StoreDir, opts.NoSigs = "127.0.0.1", server.RANDOM_PORT, 0, t.TempDir(), true
	opts.Cluster.Host, opts.Cluster.Port, opts.Routes, opts.ClientAdvertise = "127.0.0.1", clusterPort, nil, ""
	opts.JetStream = false // JetStream clustered on one node does not start alone; core NATS shows the routes
	node := startServer(t, opts)
	log := &logLines{}
	node.SetLogger(log, false, false)

	rogue := startServer(t, &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		Cluster: server.ClusterOpts{Name: "paylent", Host: "127.0.0.1", Port: server.RANDOM_PORT},
		Routes:  server.RoutesFromStr(fmt.Sprintf("nats-route://127.0.0.1:%d", clusterPort))})
	waitFor(t, "the node refuses the rogue route", func() bool { return log.has("authentication") || log.has("authorization") })
	if n := node.NumRoutes(); n != 0 {
		t.Fatalf("a server without the route password joined: %d routes", n)
	}
	rogue.Shutdown()

	peer := startServer(t, &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		Cluster: server.ClusterOpts{Name: "paylent", Host: "127.0.0.1", Port: server.RANDOM_PORT,
			Username: natsserver.RouteUser, Password: password},
		Routes: server.RoutesFromStr(fmt.Sprintf("nats-route://%s:%s@127.0.0.1:%d", natsserver.RouteUser, password, clusterPort))})
	waitFor(t, "a node with the route password joins", func() bool { return node.NumRoutes() > 0 && peer.NumRoutes() > 0 })
}

// The route password is made once: keygen run again (e.g. with other routes) keeps it, so
// nodes configured earlier keep working.
func TestRoutePasswordKept(t *testing.T) {
	creds, err := natsserver.EnsureCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first, err := creds.EnsureRoutes(natsserver.DefaultRoutes)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(first)
	second, err := creds.EnsureRoutes([]string{"nats-0.nats:6222", "nats-1.nats:6222"})
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(second)
	pw := func(b []byte) string {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PAYLENT_ROUTE_PASSWORD: "); ok {
				return v
			}
		}
		return ""
	}
	if pw(b1) == "" || pw(b1) != pw(b2) || !strings.Contains(string(b2), "@nats-0.nats:6222") || strings.Contains(string(b2), "nats-3") {
		t.Fatalf("routes.conf before:\n%s\nafter:\n%s", b1, b2)
	}
	for _, bad := range []string{"", "nats-1", "user:pw@nats-1:6222", "nats-1:6222/x", `nats"1:6222`} {
		if _, err := creds.EnsureRoutes([]string{bad}); err == nil {
			t.Errorf("route %q accepted", bad)
		}
	}
}
