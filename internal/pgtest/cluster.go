package pgtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/paylent/paylent/internal/pgcluster"
)

// dirPattern names the temporary directories that hold test clusters; each has an
// owner.pid naming the test process, so that a later run can clean up after a crash.
const dirPattern = "paylent-pgtest-*"

// NewCluster starts a dedicated cluster for a test that stops and restarts it (with
// pgcluster.Start on the same Dir and Port). It is stopped and removed when t ends,
// whichever Cluster value started it last.
func NewCluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	dir, err := makeClusterDir()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, clusterOptions(dir))
	if err != nil {
		t.Fatalf("pgtest: start test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// c owns whatever server runs in its directory, even one a later Start began.
		if err := c.Stop(ctx); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// MigratedURL creates a new, migrated database on c and returns its URL. The database is
// dropped when t ends (if c is still running then).
func MigratedURL(t testing.TB, c *pgcluster.Cluster) string {
	t.Helper()
	s, err := newServer(c.URL("postgres"), c)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s.createMigrated(t)
}

// clusterOptions configure a test cluster: durability traded for speed (a test cluster
// never outlives an OS crash), and room for many parallel tests' connection pools.
func clusterOptions(dir string) pgcluster.Options {
	return pgcluster.Options{
		Dir: filepath.Join(dir, "pg"),
		Settings: map[string]string{
			"fsync":              "off",
			"synchronous_commit": "off",
			"full_page_writes":   "off",
			"max_connections":    "300",
		},
	}
}

// makeClusterDir creates a temporary directory for a cluster, reachable by the postgres
// user when the tests run as root, and marks it with this process's pid.
func makeClusterDir() (string, error) {
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// sweepStale stops and removes test clusters whose test process has died without
// stopping them (a panic or a test timeout skips Main's cleanup).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPattern))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue // being created, or not ours
		}
		owner, err := strconv.Atoi(string(bytes.TrimSpace(b)))
		if err != nil || alive(owner) {
			continue
		}
		if pid := postmasterPID(filepath.Join(dir, "pg")); pid > 0 && isPostgres(pid) {
			_ = syscall.Kill(pid, syscall.SIGQUIT) // immediate shutdown
			for i := 0; i < 100 && isPostgres(pid); i++ {
				time.Sleep(50 * time.Millisecond)
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// postmasterPID returns the pid in dir/postmaster.pid, or 0.
func postmasterPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, _ := strconv.Atoi(string(bytes.TrimSpace(line)))
	return pid
}

// isPostgres reports whether pid is a live postgres process: not a recycled pid, not a
// zombie.
func isPostgres(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// Format: "pid (comm) state ...".
	i := bytes.LastIndexByte(b, ')')
	return bytes.HasPrefix(b, []byte(strconv.Itoa(pid)+" (postgres)")) && i+2 < len(b) && b[i+2] != 'Z'
}

// alive reports whether a process with that pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
