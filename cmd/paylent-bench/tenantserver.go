package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/keygen"
	"github.com/paylent/paylent/internal/pgcluster"
)

// scaleServer is a `paylent serve` on the embedded default, with the bench attached to its
// private PostgreSQL to create environments fast.
type scaleServer struct {
	dir, bin    string
	env         []string
	port        int
	metricsPort int
	srv         *child
	log         *slog.Logger
	pool        *pgxpool.Pool
	loop        *eventstore.Loop
	mats        []signingkey.Material
	mk          []byte
	hc          *http.Client
}

// benchServer grows one server to each count of environments in turn and measures it idle;
// then it restarts it (from its checkpoints) and measures again.
func benchServer(ctx context.Context, counts []int, log *slog.Logger, out io.Writer) (err error) {
	s := &scaleServer{log: log, hc: &http.Client{Timeout: 30 * time.Second}}
	if s.dir, err = os.MkdirTemp("", "paylent-bench-scale-*"); err != nil {
		return err
	}
	defer os.RemoveAll(s.dir)
	defer s.close()
	if err := os.Chmod(s.dir, 0o711); err != nil {
		return err
	}
	if s.bin, err = buildPaylent(ctx, s.dir); err != nil {
		return err
	}
	natsPort, err := freePort()
	if err == nil {
		s.port, err = freePort()
	}
	if err == nil {
		s.metricsPort, err = freePort()
	}
	if err != nil {
		return err
	}
	s.env = append(serverEnv(filepath.Join(s.dir, "data"), s.port, natsPort, "warn"),
		fmt.Sprintf("PAYLENT_METRICS_ADDR=127.0.0.1:%d", s.metricsPort))
	if _, err := s.start(ctx); err != nil {
		return err
	}
	if err := s.attach(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "| environments | server RSS MiB | heap in use MiB | RSS per environment KiB | PostgreSQL MiB | env | discovery p50/p99 ms | JWKS p50/p99 ms | token p50/p99 ms | /healthz p50/p99 ms (ceiling) |")
	fmt.Fprintln(out, "| --: | --: | --: | --: | --: | --- | --: | --: | --: | --: |")
	time.Sleep(10 * time.Second)
	base := procRSS(s.srv.pid())
	fmt.Fprintf(out, "| 1 (seeded) | %.1f | %.1f | — | — | | | | | |\n", float64(base)/(1<<20), s.heapInUse(ctx)/(1<<20))
	created := 0
	for _, n := range counts {
		if err := s.grow(ctx, created, n); err != nil {
			return err
		}
		created = n
		if err := s.row(ctx, out, fmt.Sprint(n), n, base); err != nil {
			return err
		}
	}
	s.srv.stop(2*time.Minute, log)
	s.pool.Close() // the server stops its PostgreSQL; attach again once it has started it
	s.pool = nil
	took, err := s.start(ctx)
	if err != nil {
		return err
	}
	if err := s.openPool(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nRestart to ready (`/readyz` 200, every read model restored from its checkpoint and caught up) at %d environments: %.2f s.\n\n", created, took.Seconds())
	return s.row(ctx, out, fmt.Sprintf("%d, after restart", created), created, base)
}

func (s *scaleServer) close() {
	if s.pool != nil {
		s.pool.Close()
	}
	if s.srv != nil {
		s.srv.stop(2*time.Minute, s.log)
	}
	stopPostgres(filepath.Join(s.dir, "data", "postgres"), s.log)
}

// start starts the server and returns how long it took to be ready.
func (s *scaleServer) start(ctx context.Context) (time.Duration, error) {
	started := time.Now()
	srv, err := startChild("paylent", s.bin, []string{"serve"}, s.env, filepath.Join(s.dir, "server.log"))
	if err != nil {
		return 0, err
	}
	s.srv = srv
	err = waitFor(ctx, srv, 10*time.Minute, "server ready", func() bool {
		code, _ := s.get(ctx, "examples-dev", "/readyz", "", "")
		return code == http.StatusOK
	})
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, tail(filepath.Join(s.dir, "server.log"), 20))
	}
	return time.Since(started), nil
}

// attach opens the server's private PostgreSQL (attaching, never owning it) and makes the
// key material environments are created with.
func (s *scaleServer) attach(ctx context.Context) error {
	if err := s.openPool(ctx); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(s.dir, "data", "master.key"))
	if err != nil {
		return err
	}
	mk, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("master key file: not hexadecimal")
	}
	store := eventstore.NewPostgres(s.pool, eventstore.PostgresOptions{Logger: slog.New(slog.DiscardHandler)})
	s.loop = eventstore.NewLoop(store, eventtypes.Registry(), time.Now)
	s.mk = mk
	s.mats, err = keygen.Generate(mk, nil, 8)
	return err
}

// openPool attaches to the server's running PostgreSQL.
func (s *scaleServer) openPool(ctx context.Context) error {
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(s.dir, "data", "postgres"), Logger: s.log})
	if err != nil {
		return err
	}
	s.pool, err = pgxpool.New(ctx, c.URL("paylent"))
	return err
}

// heapInUse is the server's go_memstats_heap_inuse_bytes from its metrics listener.
func (s *scaleServer) heapInUse(ctx context.Context) float64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", s.metricsPort), nil)
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			var f float64
			fmt.Sscan(v, &f) //nolint:errcheck // 0 on a surprise
			return f
		}
	}
	return 0
}

// grow creates environments from..to-1 through the operation, each with a primary and a
// next key (WithNextKey) taken from a pool the bench stocks with real sealed RSA-2048
// material: eight keys reused under distinct kids (the sizes are real; generation is what
// the creation benchmark measures).
func (s *scaleServer) grow(ctx context.Context, from, to int) error {
	s.log.Info("creating environments", "from", from, "to", to)
	const conc = 8
	pool := keygen.NewPool(keygen.PoolOptions{MasterKey: s.mk, Size: 4 * conc})
	ops := app.New(app.Options{Loop: s.loop, MasterKey: s.mk, KeyPool: pool})
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var firstErr atomic.Value
	actor := domain.Actor{Kind: domain.ActorOperator, ID: "bench"}
	for range conc {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(to) && ctx.Err() == nil; i = next.Add(1) - 1 {
				env := envName(int(i))
				// Each creation stocks two keys and takes two: whichever it gets, every key is
				// used once, and the pool never holds more than 2 × conc.
				pool.Put(relabel(s.mats[i%8], env+"-p"))
				pool.Put(relabel(s.mats[(i+1)%8], env+"-n"))
				_, err := ops.CreateEnvironment(ctx, app.CreateEnvironment{Account: "scale", Slug: env, WithNextKey: true}, actor)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	last := envName(to - 1)
	return waitFor(ctx, s.srv, 10*time.Minute, "the last environment served", func() bool {
		code, _ := s.get(ctx, last, "/.well-known/jwks.json", "", "")
		ready, _ := s.get(ctx, "examples-dev", "/readyz", "", "")
		return code == http.StatusOK && ready == http.StatusOK
	})
}

// relabel is m under another kid (its public JWK names it).
func relabel(m signingkey.Material, kid string) signingkey.Material {
	var jwk map[string]any
	json.Unmarshal(m.PublicJWK, &jwk) //nolint:errcheck // keygen made it
	jwk["kid"] = kid
	pub, _ := json.Marshal(jwk)
	return signingkey.Material{KID: kid, PublicJWK: pub, SealedPrivate: m.SealedPrivate}
}

// row waits for the server to idle, then reads its RSS and the latencies on the first and
// the last environment, beside /healthz (the server's cheapest answer) as the ceiling.
func (s *scaleServer) row(ctx context.Context, out io.Writer, label string, n, base int) error {
	time.Sleep(15 * time.Second)
	rss, heap := procRSS(s.srv.pid()), s.heapInUse(ctx)
	var pgBytes int64
	if err := s.pool.QueryRow(ctx, `SELECT pg_database_size('paylent')`).Scan(&pgBytes); err != nil {
		return err
	}
	for i, env := range []string{envName(0), envName(n - 1)} {
		auth, err := s.client(ctx, env)
		if err != nil {
			return err
		}
		cells := []string{}
		for _, rq := range [][3]string{{"/.well-known/openid-configuration", "", ""},
			{"/.well-known/jwks.json", "", ""}, {"/oauth/token", "grant_type=client_credentials", auth}, {"/healthz", "", ""}} {
			p50, p99, err := s.latency(ctx, env, rq[0], rq[1], rq[2])
			if err != nil {
				return err
			}
			cells = append(cells, fmt.Sprintf("%.2f / %.2f", p50, p99))
		}
		which := "first"
		if i == 1 {
			which = "last"
		}
		perEnv, size := "—", "—"
		if i == 0 {
			perEnv = fmt.Sprintf("%.1f", float64(rss-base)/float64(n)/1024)
			size = fmt.Sprintf("%.0f", float64(pgBytes)/(1<<20))
		}
		fmt.Fprintf(out, "| %s | %.1f | %.1f | %s | %s | %s (%s) | %s |\n", label, float64(rss)/(1<<20), heap/(1<<20), perEnv, size, which, env,
			strings.Join(cells, " | "))
	}
	return nil
}

// client registers a client-credentials client of env with the CLI and returns its Basic
// authorization.
func (s *scaleServer) client(ctx context.Context, env string) (string, error) {
	raw, err := cli(ctx, s.bin, s.env, "clients", "create", "--env", env, "--name", "bench", "--type", "confidential",
		"--grant", "client_credentials", "--json")
	if err != nil {
		return "", err
	}
	var r registered
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", err
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(r.ID+":"+r.Secret)), nil
}

// latency sends 20 warm-up and 300 timed requests, one at a time, and returns p50 and p99
// in milliseconds.
func (s *scaleServer) latency(ctx context.Context, env, path, form, auth string) (float64, float64, error) {
	var lat []time.Duration
	for i := range 320 {
		method := http.MethodGet
		if form != "" {
			method = http.MethodPost
		}
		t := time.Now()
		code, err := s.get(ctx, env, path, form, auth, method)
		if err != nil || code != http.StatusOK {
			return 0, 0, fmt.Errorf("%s %s on %s: %d %v", method, path, env, code, err)
		}
		if i >= 20 {
			lat = append(lat, time.Since(t))
		}
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), nil
}

// get sends one request (GET, or the given method) to env's host and returns the status.
func (s *scaleServer) get(ctx context.Context, env, path, form, auth string, method ...string) (int, error) {
	m := http.MethodGet
	if len(method) > 0 {
		m = method[0]
	}
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequestWithContext(ctx, m, fmt.Sprintf("http://127.0.0.1:%d%s", s.port, path), body)
	if err != nil {
		return 0, err
	}
	req.Host = fmt.Sprintf("%s.localhost:%d", env, s.port)
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status matters
	return resp.StatusCode, nil
}

// procRSS is a process's resident set in bytes.
func procRSS(pid int) int {
	f := strings.Fields(procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS"))
	if len(f) == 0 {
		return 0
	}
	var kb int
	fmt.Sscan(f[0], &kb) //nolint:errcheck // 0 on a surprise
	return kb << 10
}
