package pgcluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// dataDir returns a fresh data directory path for a test. t.TempDir makes its directories
// 0700; when the tests run as root, the postgres user must be able to enter them.
func dataDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	if os.Geteuid() == 0 {
		for p := base; p != filepath.Dir(p) && strings.HasPrefix(p, os.TempDir()+"/"); p = filepath.Dir(p) {
			if err := os.Chmod(p, 0o711); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(base, "pg")
}

// start starts a cluster and stops it when the test ends.
func start(t *testing.T, opts Options) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

// run runs sql on the database "paylent" of c.
func run(t *testing.T, c *Cluster, sql string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("paylent"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// count returns the number of rows in table t of the database "paylent".
func count(t *testing.T, c *Cluster, table string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), c.URL("paylent"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestFindBinaries(t *testing.T) {
	dir, err := FindBinaries()
	if err != nil {
		t.Fatalf("FindBinaries: %v", err)
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFindBinariesMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := findBinaries(t.TempDir())
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("err = %v, want ErrNoBinaries", err)
	}
	t.Log(err)
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "apt-get install -y postgresql") {
		t.Errorf("message %q should be one line telling how to install", msg)
	}
}

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	c := start(t, Options{Dir: dir})
	if !c.Owned() || c.Port == 0 || c.Password == "" {
		t.Fatalf("cluster = %+v", c)
	}
	if !strings.HasPrefix(c.URL("x"), "postgres://paylent:"+c.Password+"@127.0.0.1:") {
		t.Errorf("URL = %s", c.URL("x"))
	}
	if err := run(t, c, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2)"); err != nil {
		t.Fatalf("write: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, passwordFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v, %v", fi, err)
	}
	port, password := c.Port, c.Password
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := run(t, c, "SELECT 1"); err == nil {
		t.Fatal("connected to a stopped cluster")
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	// Back on the same port, as fault tests do.
	c2 := start(t, Options{Dir: dir, Port: port})
	if c2.Port != port || c2.Password != password || !c2.Owned() {
		t.Fatalf("restarted cluster: port %d (want %d), password reused %v, owned %v", c2.Port, port, c2.Password == password, c2.Owned())
	}
	if n := count(t, c2, "kept"); n != 2 {
		t.Errorf("rows after restart = %d, want 2", n)
	}
	if err := c2.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	// And on another port.
	c3 := start(t, Options{Dir: dir})
	if n := count(t, c3, "kept"); n != 2 {
		t.Errorf("rows after restart on port %d = %d, want 2", c3.Port, n)
	}
}

func TestAttach(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	c := start(t, Options{Dir: dir, Settings: map[string]string{"application_name": "it's attached"}})
	a, err := Start(t.Context(), Options{Dir: dir})
	if err != nil {
		t.Fatalf("Start on a running cluster: %v", err)
	}
	if a.Owned() || a.Port != c.Port || a.Password != c.Password {
		t.Fatalf("attached: owned %v, port %d (want %d)", a.Owned(), a.Port, c.Port)
	}
	if err := run(t, a, "SELECT 1"); err != nil {
		t.Fatalf("query through attached cluster: %v", err)
	}
	if err := a.Stop(t.Context()); err != nil {
		t.Fatalf("Stop attached: %v", err)
	}
	if err := run(t, c, "SELECT 1"); err != nil {
		t.Fatalf("Stop of an attached cluster stopped the server: %v", err)
	}
}

func TestStartAfterCrash(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	c := start(t, Options{Dir: dir})
	if err := run(t, c, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)"); err != nil {
		t.Fatalf("write: %v", err)
	}
	pf, found, err := readPidFile(dir)
	if err != nil || !found {
		t.Fatalf("postmaster.pid: found %v, %v", found, err)
	}
	if err := syscall.Kill(pf.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill postmaster: %v", err)
	}
	for i := 0; processAlive(pf.pid); i++ {
		if i > 100 {
			t.Fatal("postmaster survived SIGKILL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err != nil {
		t.Fatalf("want a stale postmaster.pid after the crash: %v", err)
	}

	c2 := start(t, Options{Dir: dir, Port: c.Port})
	if !c2.Owned() {
		t.Fatal("restarted cluster is not owned")
	}
	if n := count(t, c2, "kept"); n != 1 {
		t.Errorf("rows after crash = %d, want 1", n)
	}
}

func TestUnreachableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root switches to the postgres user")
	}
	t.Parallel()
	parent := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Options{Dir: filepath.Join(parent, "pg")})
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "not reachable by the postgres OS user") {
		t.Fatalf("err = %v, want a reachability error", err)
	}
}

func TestServerOptions(t *testing.T) {
	got, err := serverOptions(5433, map[string]string{"fsync": "off", "application_name": "a'b"})
	if err != nil {
		t.Fatal(err)
	}
	want := `-c listen_addresses=127.0.0.1 -c port=5433 -c unix_socket_directories='' -c 'application_name=a'\''b' -c 'fsync=off'`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := serverOptions(1, map[string]string{"x; rm -rf /": "1"}); err == nil {
		t.Error("accepted an invalid setting name")
	}
}
