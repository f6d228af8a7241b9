package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/internal/keygen"

	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/dashboard"
	"github.com/paylent/paylent/api/mgmt"
	"github.com/paylent/paylent/api/oauth"
	"github.com/paylent/paylent/api/ratelimit"
	"github.com/paylent/paylent/api/web"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/projections/mailqueue"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/projections/tokens"
	"github.com/paylent/paylent/tenants"
	"github.com/paylent/paylent/workers"
	"go.opentelemetry.io/otel/trace"
)

// controlChannel carries operator requests to every running instance ("rebuild:<name>").
const controlChannel = "paylent_control"

// readModels are this instance's projections and their runtimes.
type readModels struct {
	catalog  *catalog.Catalog
	keys     *keys.Keyring
	tokens   *tokens.Store
	sessions *sessions.Store
	mail     *mailqueue.Queue
	runtimes []*projections.Runtime
	byName   map[string]*projections.Runtime
	head     *projections.HeadReader
}

func newReadModels(env *cliEnv, db *database, msg *messaging, masterKey []byte) *readModels {
	rm := &readModels{catalog: catalog.New(), keys: keys.New(masterKey), tokens: tokens.New(), sessions: sessions.New(), mail: mailqueue.New(),
		byName: map[string]*projections.Runtime{}, head: projections.NewHeadReader(db.store.Head)}
	cps := projections.DirCheckpoints{Dir: filepath.Join(env.cfg.DataDir, "projections")}
	for _, p := range []projections.Projection{rm.catalog, rm.keys, rm.tokens, rm.sessions, rm.mail} {
		rt := projections.New(projections.Options{Projection: p, Source: db.store, Registry: db.registry,
			JetStream: msg.js, Keys: eventKeys(masterKey), Logger: env.log, Checkpoints: cps})
		rm.runtimes = append(rm.runtimes, rt)
		rm.byName[p.Name()] = rt
	}
	return rm
}

// forApp gives the operations layer the read models and how to wait for each.
func (rm *readModels) forApp() app.ReadModels {
	return app.ReadModels{Head: rm.head, Catalog: rm.catalog, CatalogReady: rm.byName[catalog.Name],
		Tokens: rm.tokens, TokensReady: rm.byName[tokens.Name], Sessions: rm.sessions, SessionsReady: rm.byName[sessions.Name],
		Keys: rm.keys, KeysReady: rm.byName[keys.Name]}
}

// caughtUp is the readiness probe of the projections: each has applied the store's head.
func (rm *readModels) caughtUp(db *database) func(context.Context) error {
	return func(ctx context.Context) error {
		head, err := db.store.Head(ctx)
		if err != nil {
			return err
		}
		for _, rt := range rm.runtimes {
			if !rt.Status().Ready {
				return fmt.Errorf("projection %s is not ready", rt.Name())
			}
			if err := rt.WaitFor(ctx, head); err != nil {
				return err
			}
		}
		return nil
	}
}

func serveCommand() verb {
	return newVerb("serve", "run the server (embedded PostgreSQL and NATS by default)", serve)
}

func serve(ctx context.Context, env *cliEnv) error {
	log, cfg := env.log, env.cfg
	mk, err := masterKey(cfg)
	if err != nil {
		return err
	}
	tel, err := newTelemetry(cfg, log)
	if err != nil {
		return err
	}
	stopMetrics, err := tel.serve(cfg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	traces, err := newTracing(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer traces.shutdown(log)
	db, err := openObservedDatabase(ctx, cfg, log, tel.store(), traces.tracer())
	if err != nil {
		return err
	}
	defer db.close()
	msg, err := openNATS(cfg, log)
	if err != nil {
		return err
	}
	defer msg.close()

	work, stopWork := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	goWork := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(work); err != nil {
				log.Error("worker stopped", "worker", name, "err", err)
			}
		}()
	}
	defer func() {
		stopWork()
		wg.Wait() // projections checkpoint on their way out
	}()
	rm := newReadModels(env, db, msg, mk)
	keyPool := newKeyPool(cfg, mk, log, goWork)
	relay := startWorkers(env, db, msg, rm, mk, workerHooks{relay: tel.relay(), tracer: traces.tracer(), keyPool: keyPool}, goWork)
	if err := tel.watch(rm, relay, msg, env.hasher); err != nil {
		return err
	}

	dir := tenants.NewDirectory(rm.catalog, cfg.PublicDomain, cfg.PublicScheme)
	if cfg.Embedded() {
		if err := seed(ctx, env, db, dir, mk); err != nil {
			return err
		}
	} else if err := ensureDashboardIfOperators(ctx, db, cfg, mk); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	if cfg.Embedded() {
		printAddresses(env, ln.Addr(), dir)
	}
	limiter, err := ratelimit.New(ctx, msg.js, ratelimit.Options{Logger: log, Observer: tel.limits(),
		Replicas: cmp.Or(cfg.NATSReplicaCount(), workers.AutoReplicas(msg.conn))})
	if err != nil {
		return err
	}
	ops := app.New(app.Options{Loop: db.loop, MasterKey: mk, Logger: log, ReadModels: rm.forApp(), Hasher: env.hasher, Registry: db.registry,
		Observer: tel.tokens(), KeyPool: keyPool, RenewPasswordHashes: cfg.PasswordRehashOn()})
	oauthHandlers := oauth.New(oauth.Deps{App: ops, Catalog: rm.catalog, Keys: ops, Logger: log, EventKeys: eventKeys(mk)})
	return serveHTTP(ctx, env, ln, api.New(api.Options{Directory: dir, Logger: log,
		RateLimiter: limiter, RateLimitsOff: !cfg.RateLimitsOn(), Observer: tel.requests(), Tracer: traces.tracer(),
		OAuth: oauthHandlers,
		Mgmt: mgmt.New(mgmt.Deps{App: ops, Store: db.store, Registry: db.registry, Catalog: rm.catalog, Sessions: rm.sessions,
			Tokens: rm.tokens, Keys: rm.keys, Runtimes: rm.byName, Verify: oauthHandlers.VerifyAccessToken, Logger: log,
			EventSigner: eventsig.Derive(mk, eventsig.CurrentVersion)}),
		Dashboard: dashboard.New(dashboard.Deps{App: ops, Store: db.store, Catalog: rm.catalog, Sessions: rm.sessions, Tokens: rm.tokens, Keys: rm.keys,
			Directory: dir, Runtimes: rm.byName, MasterKey: mk, Scheme: cfg.PublicScheme,
			Transport: selfTransport(ln.Addr()), Outbox: outboxDir(cfg), Logger: log, RecordRoutes: tel.on() || traces.tracer() != nil}),
		Web: web.New(web.Deps{App: ops, Catalog: rm.catalog, Sessions: rm.sessions, Keys: rm.keys, MasterKey: mk,
			Scheme: cfg.PublicScheme, Logger: log, Dev: cfg.Embedded()}),
		Checks: []api.Check{
			{Name: "database", Probe: db.store.Ping},
			{Name: "nats", Probe: msg.ready},
			{Name: "projections", Probe: rm.caughtUp(db)},
		}}), dir)
}

// startWorkers runs the relay, the projections, the key manager and the listeners, and
// returns the relay.
func startWorkers(env *cliEnv, db *database, msg *messaging, rm *readModels, mk []byte, hooks workerHooks,
	goWork func(string, func(context.Context) error)) *workers.Relay {
	relay := workers.NewRelay(workers.RelayOptions{Pool: db.pool, Store: db.store, JetStream: msg.relayJS, Logger: env.log,
		Signer: eventsig.Derive(mk, eventsig.CurrentVersion), Keys: eventKeys(mk), Observer: hooks.relay, Tracer: hooks.tracer,
		Stream: workers.StreamSettings{Replicas: env.cfg.NATSReplicaCount()}})
	goWork("relay", relay.Run)
	for _, rt := range rm.runtimes {
		goWork("projection "+rt.Name(), rt.Run)
	}
	keyManager := workers.NewKeyManager(workers.KeyManagerOptions{Loop: db.loop, Keys: rm.keys, MasterKey: mk, Logger: env.log,
		Pool: hooks.keyPool,
		Environments: func() []string { // listed every ScanInterval only; the keys model says what lacks a key
			envs := rm.catalog.Environments("")
			slugs := make([]string, len(envs))
			for i, e := range envs {
				slugs[i] = e.Slug
			}
			return slugs
		}})
	// New environments get their primary key in the append that creates them; the key
	// manager adds their next key (and completes environments of earlier versions).
	goWork("key-manager", keyManager.Run)
	goWork("mailer", workers.NewMailer(workers.MailerOptions{Pool: db.pool, Loop: db.loop, Store: db.store, Queue: rm.mail,
		Sender: mailSender(env.cfg), PasscodeKey: registration.Key(mk), Logger: env.log,
		Describe: func(slug string) (string, string) {
			e, _ := rm.catalog.Environment(slug)
			return e.Settings.DisplayName, tenants.NewDirectory(nil, env.cfg.PublicDomain, env.cfg.PublicScheme).Issuer(slug)
		}}).Run)
	goWork("control", func(ctx context.Context) error {
		return db.store.Listen(ctx, controlChannel, func(p string) { control(ctx, env, rm.runtimes, p) })
	})
	return relay
}

// workerHooks are what metrics and traces hand the workers (nil: off), and the key pool
// the key manager draws next keys from (nil: it generates them).
type workerHooks struct {
	relay   workers.RelayObserver
	tracer  trace.Tracer
	keyPool *keygen.Pool
}

// newKeyPool starts the pool of signing keys made ahead of need (PAYLENT_KEY_POOL), refilled
// by one goroutine: one core at most. nil when the size is 0.
func newKeyPool(cfg Config, mk []byte, log *slog.Logger, goWork func(string, func(context.Context) error)) *keygen.Pool {
	if cfg.KeyPoolSize() == 0 {
		return nil
	}
	pool := keygen.NewPool(keygen.PoolOptions{MasterKey: mk, Size: cfg.KeyPoolSize(), Workers: 1, Logger: log})
	goWork("key-pool", pool.Run)
	return pool
}

// outboxDir is the dev outbox the dashboard's Mailbox shows ("" when mail goes over SMTP).
func outboxDir(cfg Config) string {
	if cfg.SMTPURL != "" {
		return ""
	}
	return filepath.Join(cfg.DataDir, "outbox")
}

// selfTransport sends a request for any public URL to this instance's own listener, in plain
// HTTP with the public Host: the dashboard redeems its codes at the operators' token endpoint
// over HTTP, like any client, whether or not the public domain resolves from inside the
// machine and whatever terminates TLS in front of it (PAYLENT_PUBLIC_SCHEME=https).
func selfTransport(addr net.Addr) http.RoundTripper {
	target := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && (tcp.IP == nil || tcp.IP.IsUnspecified()) {
		target = net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port)) // listening on every address
	}
	return toListener{target: target, next: &http.Transport{MaxIdleConns: 4, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
}

type toListener struct {
	target string
	next   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t toListener) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = r.URL.Host // the public host: it names the environment
	r.URL.Scheme, r.URL.Host = "http", t.target
	return t.next.RoundTrip(r)
}

// ensureDashboardIfOperators keeps the dashboard's client current (public domain, master
// key) once `paylent operators create` has made the operators' environment; on shared
// infrastructure nothing else is seeded.
func ensureDashboardIfOperators(ctx context.Context, db *database, cfg Config, mk []byte) error {
	evs, err := db.store.ReadStream(ctx, environment.Stream(domain.OperatorsEnvironment).Stream)
	if err != nil || len(evs) == 0 {
		return err
	}
	return ensureDashboardClient(ctx, db.loop, cfg, mk)
}

// mailSender is SMTP when PAYLENT_SMTP_URL is set (validated at start), else the dev outbox
// under the data directory (`paylent mail tail` shows it).
func mailSender(cfg Config) workers.Sender {
	host := cfg.PublicDomain
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	from := "Paylent <no-reply@" + host + ">"
	if cfg.SMTPURL != "" {
		if s, err := workers.ParseSMTP(cfg.SMTPURL, from); err == nil {
			return s
		}
	}
	return workers.Outbox{Dir: filepath.Join(cfg.DataDir, "outbox"), From: from}
}

// serveHTTP serves until ctx ends, then drains.
func serveHTTP(ctx context.Context, env *cliEnv, ln net.Listener, app interface {
	Listener(net.Listener) error
	ShutdownWithTimeout(time.Duration) error
}, dir *tenants.Directory) error {
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	env.log.Info("paylent is serving", "http", ln.Addr().String(), "public_domain", env.cfg.PublicDomain,
		"dashboard", env.cfg.PublicScheme+"://"+dir.DashboardHost())
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	env.log.Info("shutting down: draining HTTP")
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
		env.log.Warn("HTTP drain incomplete", "err", err)
	}
	return nil
}

// control handles an operator request sent with NOTIFY paylent_control.
func control(ctx context.Context, env *cliEnv, runtimes []*projections.Runtime, payload string) {
	name, ok := strings.CutPrefix(payload, "rebuild:")
	if !ok {
		return
	}
	for _, rt := range runtimes {
		if name != "*" && name != rt.Name() {
			continue
		}
		go func() {
			env.log.Info("rebuilding projection on request", "projection", rt.Name())
			if err := rt.Rebuild(ctx); err != nil && !errors.Is(err, context.Canceled) {
				env.log.Error("rebuild failed", "projection", rt.Name(), "err", err)
			}
		}()
	}
}

// seed creates the demo account, environment and user on the embedded default's first start
// and says how to reach them; the demo password is printed this once and stored nowhere.
func seed(ctx context.Context, env *cliEnv, db *database, dir *tenants.Directory, mk []byte) error {
	if err := ensureOperators(ctx, db.loop, env.cfg, mk); err != nil {
		return err
	}
	ops := operations(env, db, mk)
	_, err := ops.CreateEnvironment(ctx, app.CreateEnvironment{
		Account: "examples", Slug: "examples-dev", DisplayName: "Examples (development)"}, operatorActor("seed"))
	switch {
	case errors.Is(err, environment.ErrSlugTaken):
		return nil
	case err != nil:
		return fmt.Errorf("seed examples-dev: %w", err)
	}
	password := secret.Random(12)
	pw, err := user.NewPassword(password, "demo@example.com")
	if err == nil {
		_, err = ops.CreateUser(ctx, app.CreateUser{Environment: "examples-dev", Email: "demo@example.com", Name: "Demo User",
			Password: pw, EmailVerified: true}, operatorActor("seed"))
	}
	if err != nil {
		return fmt.Errorf("seed the demo user: %w", err)
	}
	_, opPassword, err := addOperator(ctx, ops, "examples", "operator@example.com", "Example Operator", user.Password{})
	if err != nil {
		return fmt.Errorf("seed the operator: %w", err)
	}
	fmt.Fprintf(env.stdout, `
Paylent is ready. First start: seeded account "examples" with environment "examples-dev".
  issuer:    %s
  readiness: %s/readyz
  demo user: demo@example.com / %s   (shown once)
  dashboard: %s://%s
  operator:  operator@example.com / %s   (shown once)
Create more with: paylent env create --account ACCOUNT --slug SLUG
`, dir.Issuer("examples-dev"), dir.Issuer("examples-dev"), password, env.cfg.PublicScheme, dir.DashboardHost(), opPassword)
	return nil
}

// printAddresses says, on every start of the embedded default, where Paylent can be reached
// (never a password: those were printed once, when they were made).
func printAddresses(env *cliEnv, addr net.Addr, dir *tenants.Directory) {
	reach := "only this machine can reach it; PAYLENT_HTTP_ADDR=:4000 opens it to the network"
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		reach = "reachable from the network"
	}
	fmt.Fprintf(env.stdout, `Paylent is serving on %s (%s).
  dashboard: %s://%s
  examples:  %s
`, addr, reach, env.cfg.PublicScheme, dir.DashboardHost(), dir.Issuer("examples-dev"))
}

// eventKeys are the keys this instance accepts on event messages: the one derived from the
// master key under the current version label. A rotation of the label adds the previous
// version's key here for one release (docs/EVENTS.md, "Rotating the event-signing key").
func eventKeys(mk []byte) *eventsig.KeySet {
	return eventsig.NewKeySet(eventsig.Derive(mk, eventsig.CurrentVersion).Public())
}
