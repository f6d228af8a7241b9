package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	paylent "github.com/paylent/paylent/cmd/paylent"
	"github.com/paylent/paylent/internal/pgcluster"
	"github.com/paylent/paylent/internal/pgtest"
	"github.com/paylent/paylent/internal/ports"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "paylent-bin-*")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "paylent")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build paylent: %v\n%s", err, out)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	pgtest.Main(m, stopShared, stopChromium)
}

// freePort is a port below the ephemeral range that was free a moment ago (internal/ports).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dataDir is a temporary directory the postgres user can reach (t.TempDir is 0700).
func dataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "paylent-e2e-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "data")
}

// instance is one `paylent serve` process.
// A test's view of a shared instance is a copy with the test's t: everything else it
// holds is shared (the process, its output).
type instance struct {
	t       testing.TB
	cmd     *exec.Cmd
	env     []string
	port    int
	domain  string
	log     *processOutput
	dataDir string
	exited  chan error
}

// processOutput is what a serve process printed.
type processOutput struct {
	mu  sync.Mutex
	out bytes.Buffer
}

func (o *processOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.Write(p)
}

func (i *instance) output() string {
	i.log.mu.Lock()
	defer i.log.mu.Unlock()
	return i.log.out.String()
}

func serve(t testing.TB, env []string) *instance {
	t.Helper()
	port := freePort(t)
	i := &instance{t: t, port: port, domain: fmt.Sprintf("localhost:%d", port), log: &processOutput{},
		exited: make(chan error, 1)}
	i.env = append(os.Environ(), append([]string{
		fmt.Sprintf("PAYLENT_HTTP_ADDR=127.0.0.1:%d", port),
		"PAYLENT_PUBLIC_DOMAIN=" + i.domain,
		// A small key pool: the path is the same, and a server does not spend seconds of a
		// core filling 64 RSA keys that a test never asks for (env may say otherwise).
		"PAYLENT_KEY_POOL=2",
	}, env...)...)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PAYLENT_DATA_DIR="); ok {
			i.dataDir = v
		}
	}
	i.cmd = exec.Command(binary, "serve")
	i.cmd.Env = i.env
	i.cmd.Stdout, i.cmd.Stderr = i.log, i.log
	if err := i.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { i.exited <- i.cmd.Wait() }()
	t.Cleanup(func() {
		i.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // may be gone
		if t.Failed() {
			t.Logf("server output:\n%s", i.output())
		}
	})
	return i
}

// get sends a request to the instance with the given Host (dialled on loopback, as Go does
// not resolve *.localhost).
func (i *instance) get(host, path string) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", i.port, path), nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body) //nolint:errcheck // tests look at status first
	return resp.StatusCode, body
}

func (i *instance) host(slug string) string { return slug + "." + i.domain }

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}

func (i *instance) waitReady(slug string, within time.Duration) {
	i.t.Helper()
	eventually(i.t, within, "readyz on "+i.host(slug), func() bool {
		code, _ := i.get(i.host(slug), "/readyz")
		return code == http.StatusOK
	})
}

func (i *instance) stop() {
	i.t.Helper()
	i.cmd.Process.Signal(os.Interrupt) //nolint:errcheck // checked below
	select {
	case err := <-i.exited:
		if err != nil {
			i.t.Errorf("serve exited with %v after Ctrl-C", err)
		}
	case <-time.After(60 * time.Second):
		i.t.Fatal("serve did not stop after Ctrl-C")
	}
}

// cli runs a paylent command with the given environment (over the test process's own) and
// returns its exit code and output. It runs in this process, through the function main
// calls: a process per command cost a Go start and a binary load, tens of milliseconds of
// CPU each, hundreds of times. paylent serve runs as a process (serve).
func cli(t testing.TB, env []string, args ...string) (int, string, string) {
	t.Helper()
	return cliWith(env, "", args...)
}

func cliWith(env []string, stdin string, args ...string) (int, string, string) {
	vars := map[string]string{}
	for _, kv := range append(os.Environ(), env...) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	code := paylent.Run(context.Background(), args, func(k string) string { return vars[k] },
		strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func ndjson(t *testing.T, r io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not NDJSON: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// The newcomer's path: `paylent serve` with no configuration, then the CLI beside it.
func TestEmbeddedDefault(t *testing.T) {
	t.Parallel()
	data := dataDir(t)
	env := []string{"PAYLENT_DATA_DIR=" + data, fmt.Sprintf("PAYLENT_NATS_LISTEN=127.0.0.1:%d", freePort(t))}
	srv := serve(t, env)
	srv.waitReady("examples-dev", 2*time.Minute)
	if !strings.Contains(srv.output(), "examples-dev") || !strings.Contains(srv.output(), "First start") {
		t.Errorf("first start did not say how to reach examples-dev:\n%s", srv.output())
	}
	// The demo user's password is printed once, and works.
	m := regexp.MustCompile(`demo user: demo@example.com / (\S+)`).FindStringSubmatch(srv.output())
	if m == nil {
		t.Fatalf("no demo user in the first start's output:\n%s", srv.output())
	}
	issuer := "http://" + srv.host("examples-dev")
	pc := newPageClient(t, issuer)
	_, pg := pc.do("GET", issuer+"/login", nil)
	if resp, page := pc.do("POST", issuer+"/login", url.Values{"_csrf": {fields(pg).Get("_csrf")}, "email": {"demo@example.com"},
		"password": {m[1]}}); resp.StatusCode != 200 || !strings.Contains(page, "You are signed in") {
		t.Errorf("demo login: %d", resp.StatusCode)
	}
	// So is the operator's, for the dashboard, which shows examples-dev and the dev mailbox.
	op := regexp.MustCompile(`operator:  (operator@example.com) / (\S+)`).FindStringSubmatch(srv.output())
	if op == nil {
		t.Fatalf("no operator in the first start's output:\n%s", srv.output())
	}
	d := newDash(t, srv)
	d.signIn(op[1], op[2])
	if code, page := d.get("/"); code != http.StatusOK || !strings.Contains(page, "/e/examples-dev/clients") || !strings.Contains(page, "Dev mailbox") {
		t.Errorf("dashboard of the seeded operator: %d\n%.500s", code, page)
	}
	code, body := srv.get(srv.host("unknown"), "/readyz")
	if code != http.StatusOK {
		t.Errorf("readyz is served on any host; got %d", code)
	}
	code, body = srv.get(srv.host("nope"), "/")
	if code != http.StatusNotFound || body["error"] != "unknown_environment" {
		t.Errorf("unknown host: %d %v", code, body)
	}

	// The CLI against the running server: visible in its host resolution within a second.
	cliEnv := append(env, "PAYLENT_PUBLIC_DOMAIN="+srv.domain)
	code2, out, errOut := cli(t, cliEnv, "env", "create", "--account", "acme", "--slug", "acme-test")
	if code2 != 0 {
		t.Fatalf("env create: %d %s %s", code2, out, errOut)
	}
	created := time.Now()
	eventually(t, time.Second, "acme-test resolves", func() bool {
		code, body := srv.get(srv.host("acme-test"), "/")
		return code == http.StatusOK && body["issuer"] == "http://"+srv.host("acme-test")
	})
	t.Logf("acme-test resolvable %s after the CLI returned", time.Since(created).Round(time.Millisecond))
	// Its JWKS is never empty: the primary key came with the creation; the key manager adds
	// the next one shortly after.
	if n := jwksKeys(t, srv, "acme-test"); n < 1 {
		t.Fatalf("JWKS of acme-test has %d keys right after it resolved; want its primary", n)
	}
	eventually(t, 30*time.Second, "acme-test's next key", func() bool { return jwksKeys(t, srv, "acme-test") == 2 })

	code2, out, _ = cli(t, cliEnv, "events", "--env", "acme-test")
	evs := ndjson(t, strings.NewReader(out))
	if code2 != 0 || len(evs) == 0 || evs[0]["type"] != "environment.created" || evs[0]["environment"] != "acme-test" {
		t.Fatalf("events: %d %v", code2, evs)
	}
	for _, k := range []string{"id", "stream", "stream_version", "position", "schema_version", "occurred_at", "actor", "data", "hash", "prev_hash"} {
		if _, ok := evs[0][k]; !ok {
			t.Errorf("envelope lacks %q", k)
		}
	}
	if code2, _, errOut = cli(t, cliEnv, "env", "create", "--account", "acme", "--slug", "acme-test"); code2 != 1 || !strings.Contains(errOut, "already taken") {
		t.Errorf("second create: %d %s", code2, errOut)
	}
	if code2, out, _ = cli(t, cliEnv, "verify", "--env", "acme-test"); code2 != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %d %s", code2, out)
	}

	// Someone with superuser rights drops the guard and edits a row: verify fails.
	tamper(t, filepath.Join(data, "postgres"), `UPDATE events SET data = '{"environment":"acme-test","account":"evil"}' WHERE environment = 'acme-test' AND type = 'environment.created'`)
	pos := int(evs[0]["position"].(float64))
	code2, _, errOut = cli(t, cliEnv, "verify", "--env", "acme-test")
	if code2 != 1 || !strings.Contains(errOut, fmt.Sprintf("position %d", pos)) {
		t.Errorf("verify after tampering: exit %d, %s", code2, errOut)
	}

	if code2, out, errOut = cli(t, cliEnv, "projections", "rebuild"); code2 != 0 || !strings.Contains(out, "rebuilt catalog") {
		t.Errorf("projections rebuild: %d %s %s", code2, out, errOut)
	}

	// Ctrl-C: drained, checkpointed, Postgres stopped; a second start reuses the data.
	srv.stop()
	if _, err := os.Stat(filepath.Join(data, "projections", "catalog.2.checkpoint.json")); err != nil {
		t.Errorf("no checkpoint after shutdown: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "postgres", "postmaster.pid")); err == nil {
		t.Error("PostgreSQL still running after shutdown")
	}
	again := serve(t, env)
	again.waitReady("acme-test", 2*time.Minute)
	if strings.Contains(again.output(), "First start") || strings.Contains(again.output(), "shown once") {
		t.Errorf("second start seeded again or printed a password:\n%s", again.output())
	}
	for _, i := range []*instance{srv, again} {
		if want := fmt.Sprintf("Paylent is serving on 127.0.0.1:%d (only this machine", i.port); !strings.Contains(i.output(), want) {
			t.Errorf("a start did not say where it serves (%q):\n%s", want, i.output())
		}
	}
	again.stop()
}

// tamper disables the append-only guard as a superuser would, and runs sql.
func tamper(t *testing.T, clusterDir, sql string) {
	t.Helper()
	c, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: clusterDir}) // attaches to the running one
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), c.URL("paylent"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{`ALTER TABLE events DISABLE TRIGGER USER`, sql} {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestCLIUsage(t *testing.T) {
	t.Parallel()
	env := []string{"PAYLENT_DATA_DIR=" + dataDir(t)}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage"},
		{[]string{"bogus"}, 2, "unknown command"},
		{[]string{"env"}, 2, "missing subcommand"},
		{[]string{"env", "create"}, 2, "--account and --slug are required"},
		{[]string{"env", "create", "--help"}, 0, "--slug"},
		{[]string{"events", "--env"}, 2, "flag needs an argument"},
		{[]string{"verify"}, 2, "--env is required"},
		{[]string{"projections", "rebuild", "--name", "nope"}, 2, "unknown projection"},
		{[]string{"--help"}, 0, "paylent serve"},
	}
	for _, c := range cases {
		code, out, errOut := cli(t, env, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("paylent %v: exit %d, want %d with %q:\n%s%s", c.args, code, c.code, c.want, out, errOut)
		}
	}
	code, _, errOut := cli(t, []string{"PAYLENT_PUBLIC_SCHEME=ftp", "PAYLENT_HTTP_ADDR=nope", "DATABASE_URL=mysql://x"}, "migrate")
	if code != 2 || !strings.Contains(errOut, "PAYLENT_PUBLIC_SCHEME") || !strings.Contains(errOut, "PAYLENT_HTTP_ADDR") ||
		!strings.Contains(errOut, "DATABASE_URL") || !strings.Contains(errOut, "PAYLENT_MASTER_KEY") {
		t.Errorf("bad configuration must list every problem: %d %s", code, errOut)
	}
}

// verify names an environment that does not exist instead of calling its empty log intact.
func TestVerifyUnknownEnvironment(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=" + pgtest.URL(t), "PAYLENT_MASTER_KEY=" + strings.Repeat("5a", 32), "PAYLENT_DATA_DIR=" + dataDir(t)}
	if code, out, errOut := cli(t, env, "env", "create", "--account", "acme", "--slug", "acme-test"); code != 0 {
		t.Fatalf("env create: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := cli(t, env, "verify", "--env", "acme-test"); code != 0 || !strings.Contains(out, "intact") {
		t.Errorf("verify acme-test: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := cli(t, env, "verify", "--env", "nope")
	if code != 1 || strings.Contains(out, "intact") || !strings.Contains(errOut, `environment "nope" does not exist`) {
		t.Errorf("verify --env nope: exit %d, want 1 naming the environment\n%s%s", code, out, errOut)
	}
	code, out, _ = cli(t, env, "verify", "--env", "nope", "--json")
	var rep map[string]any
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || rep["ok"] != false || rep["reason"] != "no such environment" {
		t.Errorf("verify --env nope --json: exit %d %s", code, out)
	}
}

// jwksKeys counts the keys an environment's JWKS publishes.
func jwksKeys(t *testing.T, srv *instance, env string) int {
	t.Helper()
	code, body := srv.get(srv.host(env), "/.well-known/jwks.json")
	keys, _ := body["keys"].([]any)
	if code != http.StatusOK {
		t.Fatalf("JWKS of %s: %d %v", env, code, body)
	}
	return len(keys)
}
