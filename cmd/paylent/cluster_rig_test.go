package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/resourceserver"
)

// natsCluster is three nats-server processes (built from the module in go.mod) routed into
// one JetStream cluster on loopback, each running deploy/nats/nats-cluster.conf (and so
// deploy/nats/nats-server.conf's identities and rights) with only its addresses and store
// overridden, and Paylent's identities made by `paylent nats keygen`.
type natsCluster struct {
	t     *testing.T
	bin   string
	dir   string
	creds map[string]string // role → seed file
	nodes []*natsNode
}

type natsNode struct {
	name       string
	conf       string
	port, http int
	cmd        *exec.Cmd
	exited     chan struct{}
	out        *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startNATSCluster builds nats-server, writes the credentials and one configuration per
// node, starts the nodes and waits until each reports itself healthy (JetStream current).
func startNATSCluster(t *testing.T, n int) *natsCluster {
	t.Helper()
	c := &natsCluster{t: t, dir: t.TempDir()}
	c.bin = natsServerBinary(t)
	for _, name := range []string{"nats-server.conf", "nats-cluster.conf"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	routes := make([]int, n)
	for i := range n {
		c.nodes = append(c.nodes, &natsNode{name: fmt.Sprintf("nats-%d", i+1), port: freePort(t), http: freePort(t)})
		routes[i] = freePort(t)
	}
	keygen := []string{"nats", "keygen", "--dir", filepath.Join(c.dir, "credentials"), "--json"}
	for _, p := range routes {
		keygen = append(keygen, "--route", fmt.Sprintf("127.0.0.1:%d", p))
	}
	code, out, errOut := cli(t, nil, keygen...)
	if code != 0 || json.Unmarshal([]byte(out), &c.creds) != nil {
		t.Fatalf("nats keygen: %d %s%s", code, out, errOut)
	}
	for i, nd := range c.nodes {
		// Later keys override the included file's: loopback addresses and a store per node.
		conf := fmt.Sprintf(`include "nats-cluster.conf"
host: 127.0.0.1
port: %d
http_port: %d
client_advertise: "127.0.0.1:%d"
jetstream { store_dir: %q }
cluster {
  name: paylent, listen: "127.0.0.1:%d", routes: $PAYLENT_ROUTES
  authorization { user: $PAYLENT_ROUTE_USER, password: $PAYLENT_ROUTE_PASSWORD }
}
`, nd.port, nd.http, nd.port, filepath.Join(c.dir, nd.name), routes[i])
		nd.conf = filepath.Join(c.dir, nd.name+".conf")
		if err := os.WriteFile(nd.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		nd.out = &lockedBuffer{}
	}
	// Registered before the nodes start: a node that never becomes healthy is stopped too,
	// and its output says why.
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			c.kill(nd)
			if t.Failed() {
				t.Logf("%s output (tail):\n%s", nd.name, tail(nd.out.String(), 3000))
			}
		}
	})
	for _, nd := range c.nodes {
		c.start(nd)
	}
	for _, nd := range c.nodes {
		c.waitHealthy(nd)
	}
	return c
}

var natsServerBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// natsServerBinary builds nats-server from the module in go.mod, once per test binary,
// beside the paylent binary TestMain built.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	b := &natsServerBuild
	b.once.Do(func() {
		b.path = filepath.Join(filepath.Dir(binary), "nats-server")
		b.out, b.err = exec.Command("go", "build", "-o", b.path, "github.com/nats-io/nats-server/v2").CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("build nats-server: %v\n%s", b.err, b.out)
	}
	return b.path
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (c *natsCluster) start(nd *natsNode) {
	c.t.Helper()
	nd.cmd = exec.Command(c.bin, "-c", nd.conf)
	nd.cmd.Dir = c.dir
	nd.cmd.Env = append(os.Environ(), "NATS_SERVER_NAME="+nd.name)
	nd.cmd.Stdout, nd.cmd.Stderr = nd.out, nd.out
	if err := nd.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	nd.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(nd.cmd, nd.exited) //nolint:errcheck // killed on purpose
}

// kill stops a node at once (SIGKILL: no goodbye to its peers) and waits until it is gone.
func (c *natsCluster) kill(nd *natsNode) {
	if nd.cmd == nil {
		return
	}
	nd.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // may be gone
	<-nd.exited
	nd.cmd = nil
}

// waitHealthy waits for the node's /healthz (JetStream enabled and current with the cluster),
// and fails at once, with the node's output, if the node exits meanwhile.
func (c *natsCluster) waitHealthy(nd *natsNode) {
	c.t.Helper()
	eventually(c.t, time.Minute, nd.name+" healthy", func() bool {
		select {
		case <-nd.exited:
			c.t.Fatalf("%s exited before it was healthy:\n%s", nd.name, tail(nd.out.String(), 3000))
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", nd.http))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // status is what counts
		return resp.StatusCode == http.StatusOK
	})
}

// url is NATS_URL for Paylent: every node.
func (c *natsCluster) url() string {
	var urls []string
	for _, nd := range c.nodes {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", nd.port))
	}
	return strings.Join(urls, ",")
}

func (c *natsCluster) node(name string) *natsNode {
	for _, nd := range c.nodes {
		if nd.name == name {
			return nd
		}
	}
	c.t.Fatalf("no NATS node %q", name)
	return nil
}

// connect connects as a role, with the role's inbox prefix, to every node.
func (c *natsCluster) connect(role, inbox string) jetstream.JetStream {
	c.t.Helper()
	opt, err := resourceserver.NATSCredentials(c.creds[role])
	if err != nil {
		c.t.Fatal(err)
	}
	nc, err := nats.Connect(c.url(), opt, nats.CustomInboxPrefix(inbox), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		c.t.Fatalf("connect as %s: %v", role, err)
	}
	c.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	return js
}

// streamInfo is a stream's info, or nil while it cannot be read (no leader, node down).
func streamInfo(js jetstream.JetStream, name string) *jetstream.StreamInfo {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, name)
	if err != nil {
		return nil
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil
	}
	return info
}

// replicated reports whether the stream has a leader and every replica is current.
func replicated(info *jetstream.StreamInfo, replicas int) bool {
	if info == nil || info.Cluster == nil || info.Cluster.Leader == "" || info.Config.Replicas != replicas ||
		len(info.Cluster.Replicas) != replicas-1 {
		return false
	}
	for _, p := range info.Cluster.Replicas {
		if !p.Current || p.Offline {
			return false
		}
	}
	return true
}

// clusterInstance is one `paylent serve` of the cluster test, with what it takes to start
// it again (same data directory) and its metrics listener (which says who leads the relay).
type clusterInstance struct {
	*instance
	env     []string
	metrics int
	down    bool
}

func startClusterInstance(t *testing.T, shared []string, domain string) *clusterInstance {
	t.Helper()
	m := freePort(t)
	ci := &clusterInstance{env: append(shared[:len(shared):len(shared)], "PAYLENT_DATA_DIR="+dataDir(t),
		"PAYLENT_PUBLIC_DOMAIN="+domain, fmt.Sprintf("PAYLENT_METRICS_ADDR=127.0.0.1:%d", m)), metrics: m}
	ci.instance = serve(t, ci.env)
	ci.domain = domain
	return ci
}

// restart starts the instance again on its data directory (a new HTTP port).
func (ci *clusterInstance) restart(t *testing.T) {
	t.Helper()
	ci.instance = serve(t, ci.env)
	ci.domain = envValue(ci.env, "PAYLENT_PUBLIC_DOMAIN")
	ci.down = false
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if s, ok := strings.CutPrefix(kv, key+"="); ok {
			v = s
		}
	}
	return v
}

// kill ends the process at once (SIGKILL: no drain, no checkpoint).
func (ci *clusterInstance) kill() {
	ci.down = true
	ci.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // checked by the wait
	<-ci.exited
}

// relayLeader reports whether this instance's relay publishes (its metrics say so).
func (ci *clusterInstance) relayLeader() bool {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", ci.metrics))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\npaylent_relay_leader 1\n")
}

// do sends a request to the instance and tolerates failure (the instance or what it depends
// on may be down): status 0 when nothing came back.
func (ci *clusterInstance) do(method, env, path, contentType, body, auth string) (int, map[string]any) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d%s", ci.port, path), strings.NewReader(body))
	req.Host = ci.host(env)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m) //nolint:errcheck // some answers are empty
	return resp.StatusCode, m
}
