package natstest

import (
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/internal/natsserver"
)

// Start runs a NATS server with JetStream on a random loopback port, its store in a
// temporary directory; it is shut down when t ends. Its warnings and errors go to t's log.
func Start(t testing.TB) *natsserver.Server {
	t.Helper()
	return start(t, natsserver.Options{StoreDir: t.TempDir()})
}

// Restart shuts s down and starts a new server on the same address and store, so that
// clients reconnect and JetStream finds its streams again. Use the returned server from
// then on; it too is shut down when t ends.
func Restart(t testing.TB, s *natsserver.Server) *natsserver.Server {
	t.Helper()
	s.Shutdown()
	return start(t, natsserver.Options{Listen: s.Addr(), StoreDir: s.StoreDir(), Credentials: s.Credentials()})
}

// StartWithAuth is Start with Paylent's NATS identities, as the embedded default runs it:
// anonymous connections are refused, and each role (natsserver.Roles) connects with its
// seed, s.Credentials().Path(role). Connect with ConnectAs.
func StartWithAuth(t testing.TB) *natsserver.Server {
	t.Helper()
	creds, err := natsserver.EnsureCredentials(filepath.Join(t.TempDir(), "credentials"))
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	return start(t, natsserver.Options{StoreDir: t.TempDir(), Credentials: creds})
}

// ConnectAs connects to s as role, with the role's inbox prefix; the connection is closed
// when t ends. Extra options come after Paylent's.
func ConnectAs(t testing.TB, s *natsserver.Server, role natsserver.Role, opts ...nats.Option) *nats.Conn {
	t.Helper()
	key, err := nats.NkeyOptionFromSeed(s.Credentials().Path(role))
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	nc, err := nats.Connect(s.ClientURL(), append([]nats.Option{key, nats.Name("natstest " + string(role)),
		nats.CustomInboxPrefix(role.InboxPrefix())}, opts...)...)
	if err != nil {
		t.Fatalf("natstest: connect as %s: %v", role, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// start runs a server, retrying for a moment while its fixed address is still taken.
func start(t testing.TB, opts natsserver.Options) *natsserver.Server {
	t.Helper()
	w := &logWriter{t: t}
	t.Cleanup(w.close) // runs after the Shutdown below: the server logs no more by then
	opts.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var s *natsserver.Server
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s, err = natsserver.Start(opts)
		if err == nil || opts.Listen == "" || !strings.Contains(err.Error(), "in use") || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// logWriter passes log lines to t.Log until the test's cleanup closes it (t.Log panics
// once the test has finished).
type logWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *logWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}
