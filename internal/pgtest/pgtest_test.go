package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/paylent/paylent/internal/pgcluster"
)

func TestMain(m *testing.M) { Main(m) }

// query returns the single value of a one-row query on the database at url.
func query[T any](t *testing.T, url, sql string, args ...any) T {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var v T
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func databaseExists(t *testing.T, adminURL, name string) bool {
	return query[bool](t, adminURL, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name)
}

// dbName returns the database of a URL.
func dbName(url string) string {
	name := url[strings.LastIndex(url, "/")+1:]
	name, _, _ = strings.Cut(name, "?")
	return name
}

func TestURLIsMigratedAndDropped(t *testing.T) {
	var url string
	t.Run("inner", func(t *testing.T) {
		url = URL(t)
		if n := query[int](t, url, "SELECT count(*) FROM events"); n != 0 {
			t.Errorf("events = %d in a fresh database", n)
		}
		if cur := query[string](t, url, "SELECT current_database()"); cur != dbName(url) {
			t.Errorf("connected to %s, want %s", cur, dbName(url))
		}
		// A connection left open must not keep the database from being dropped.
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn
	})
	c := Cluster(t)
	if c == nil {
		t.Skip("TEST_DATABASE_URL names the server")
	}
	if databaseExists(t, c.URL("postgres"), dbName(url)) {
		t.Errorf("database %s still exists after its test", dbName(url))
	}
}

func TestURLsAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatal("two URLs name the same database")
	}
	conn, err := pgx.Connect(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "CREATE TABLE only_in_a (n int)"); err != nil {
		t.Fatal(err)
	}
	if query[bool](t, b, "SELECT to_regclass('only_in_a') IS NOT NULL") {
		t.Error("a table created in one database shows up in another")
	}
}

func TestURLConcurrent(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	urls := make([]string, 8)
	for i := range urls {
		wg.Go(func() {
			urls[i] = URL(t)
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, u := range urls {
		if seen[u] {
			t.Errorf("duplicate %s", u)
		}
		seen[u] = true
		query[int](t, u, "SELECT count(*) FROM events")
	}
}

func TestNewClusterStopStart(t *testing.T) {
	t.Parallel()
	c := NewCluster(t)
	url := MigratedURL(t, c)
	query[int](t, url, "SELECT count(*) FROM events")
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(t.Context(), url); err == nil {
		conn.Close(context.Background())
		t.Fatal("connected while the cluster is down")
	}
	c2, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: c.Dir, Port: c.Port})
	if err != nil {
		t.Fatal(err)
	}
	if c2.URL("x") != c.URL("x") {
		t.Errorf("restarted cluster has URL %s, want %s", c2.URL("x"), c.URL("x"))
	}
	query[int](t, url, "SELECT count(*) FROM events")
}

func TestSharedServerMode(t *testing.T) {
	// The TEST_DATABASE_URL path, against a dedicated cluster standing in for it.
	t.Parallel()
	c := NewCluster(t)
	s, err := newServer(c.URL("paylent"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.buildTemplate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.buildTemplate(t.Context()); err != nil {
		t.Fatalf("rebuild template: %v", err)
	}
	url := s.newDatabase(t)
	if !strings.Contains(url, fmt.Sprintf("@127.0.0.1:%d/t_", c.Port)) {
		t.Errorf("url = %s", url)
	}
	query[int](t, url, "SELECT count(*) FROM events")
}

func TestDatabaseName(t *testing.T) {
	t.Run("Sub test/with ÜNICODE and a very long name that goes on and on and on", func(t *testing.T) {
		name := databaseName(t)
		if len(name) > 63 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("name %q is not a plain identifier", name)
		}
	})
}

func TestSweepStale(t *testing.T) {
	t.Parallel()
	// A cluster whose test process died without stopping it.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dir, err := makeClusterDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	c, err := pgcluster.Start(t.Context(), clusterOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	pid := postmasterPID(c.Dir)
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}

	sweepStale()
	if isPostgres(pid) {
		t.Errorf("postmaster %d still runs", pid)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still exists: %v", dir, err)
	}
}
