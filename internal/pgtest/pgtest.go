package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/paylent/paylent/internal/pgcluster"
)

// envURL names an existing server to use instead of starting a cluster.
const envURL = "TEST_DATABASE_URL"

// process is the test binary's one server, started by the first test that needs it and
// stopped by Main. It is the package's only state.
var process struct {
	mu      sync.Mutex
	main    bool // Main is running the tests
	started bool // a start was attempted; srv or err is set
	srv     *server
	err     error
	cluster *pgcluster.Cluster // the cluster this process started, if any
	tmpDir  string             // and the directory that holds it
}

// Main runs the tests, then afterRun (what the package keeps for all its tests, such as
// servers on the cluster's databases), stops the cluster they started (if any) and exits
// with their code.
func Main(m *testing.M, afterRun ...func()) {
	process.mu.Lock()
	process.main = true
	process.mu.Unlock()
	code := m.Run()
	for _, f := range afterRun {
		f()
	}
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// URL returns the connection URL of a new database, a copy of the migrated template,
// which is dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	return shared(t).newDatabase(t)
}

// Cluster returns the cluster that the test binary's databases live on, for tests that
// stop and start it; nil when TEST_DATABASE_URL names the server. Every test of the
// binary shares it: a test that stops it must start it again on the same Dir and Port.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	return shared(t).cluster
}

// shared returns the process's server, starting it on first use.
func shared(t testing.TB) *server {
	t.Helper()
	process.mu.Lock()
	defer process.mu.Unlock()
	if !process.main {
		t.Fatal("pgtest: call pgtest.Main(m) from TestMain, so that the test cluster is stopped at the end")
	}
	if !process.started {
		process.started = true
		process.srv, process.err = startShared()
	}
	if process.err != nil {
		t.Fatalf("pgtest: %v", process.err)
	}
	return process.srv
}

// startShared connects to TEST_DATABASE_URL or starts a cluster, then builds the
// template. Called with process.mu held.
func startShared() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var s *server
	if u := os.Getenv(envURL); u != "" {
		var err error
		if s, err = newServer(u, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", envURL, err)
		}
	} else {
		sweepStale()
		dir, err := makeClusterDir()
		if err != nil {
			return nil, err
		}
		process.tmpDir = dir
		c, err := pgcluster.Start(ctx, clusterOptions(dir))
		if err != nil {
			return nil, fmt.Errorf("start test database: %w (or set %s to a server to use)", err, envURL)
		}
		process.cluster = c
		if s, err = newServer(c.URL("postgres"), c); err != nil {
			return nil, err
		}
	}
	if err := s.buildTemplate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// shutdown stops the cluster this process started and removes its directory.
func shutdown() error {
	process.mu.Lock()
	defer process.mu.Unlock()
	if process.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := process.cluster.Stop(ctx); err != nil {
			return err
		}
		process.cluster = nil
	}
	if process.tmpDir == "" {
		return nil
	}
	if err := os.RemoveAll(process.tmpDir); err != nil {
		return fmt.Errorf("remove test cluster: %w", err)
	}
	process.tmpDir = ""
	return nil
}
