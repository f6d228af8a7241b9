package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/natsserver"
	"github.com/paylent/paylent/internal/pgcluster"
	"github.com/paylent/paylent/migrations"
	"github.com/paylent/paylent/resourceserver"
	"go.opentelemetry.io/otel/trace"
)

// database is an open, migrated event store.
type database struct {
	cluster  *pgcluster.Cluster // the private cluster (embedded default), nil with DATABASE_URL
	pool     *pgxpool.Pool
	store    *eventstore.Postgres
	registry *domain.Registry
	loop     *eventstore.Loop
}

// openDatabase connects to DATABASE_URL, or starts (or attaches to) the private cluster under
// the data directory, and applies migrations.
func openDatabase(ctx context.Context, cfg Config, log *slog.Logger) (*database, error) {
	return openObservedDatabase(ctx, cfg, log, nil, nil)
}

// openObservedDatabase is openDatabase with the store's appends told to observer (metrics)
// and the commands and appends in spans of tracer (traces); nil for none.
func openObservedDatabase(ctx context.Context, cfg Config, log *slog.Logger, observer eventstore.AppendObserver,
	tracer trace.Tracer) (*database, error) {
	db := &database{registry: eventtypes.Registry()}
	url := cfg.DatabaseURL
	if cfg.Embedded() {
		dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "postgres"))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Logger: log})
		if err != nil {
			return nil, err
		}
		db.cluster = c
		url = c.URL("paylent")
	}
	if err := migrations.Up(ctx, url, nil); err != nil {
		db.close()
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		db.close()
		return nil, fmt.Errorf("database url: %w", err)
	}
	pcfg.MaxConns = max(pcfg.MaxConns, 16)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		db.close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	db.pool = pool
	db.store = eventstore.NewPostgres(pool, eventstore.PostgresOptions{Logger: log, Observer: observer, Tracer: tracer})
	db.loop = eventstore.NewLoop(db.store, db.registry, time.Now).Traced(tracer)
	return db, nil
}

// close finishes queued appends, closes the pool and stops the private cluster if this
// process started it.
func (db *database) close() {
	if db.store != nil {
		db.store.Close()
	}
	if db.pool != nil {
		db.pool.Close()
	}
	if db.cluster != nil && db.cluster.Owned() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := db.cluster.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "paylent: stop PostgreSQL: %v\n", err)
		}
	}
}

// messaging is the NATS connections, and the embedded server when there is one. The relay
// publishes on a connection of its own, with the relay identity: the only one NATS lets
// publish events (docs/ARCHITECTURE.md, "NATS identities").
type messaging struct {
	server  *natsserver.Server
	conn    *nats.Conn // the instance identity: projections, rate limits, readiness
	js      jetstream.JetStream
	relay   *nats.Conn
	relayJS jetstream.JetStream
}

// natsIdentity is how one of this instance's connections authenticates.
type natsIdentity struct {
	role  natsserver.Role
	creds string // credentials file, "" for none
	from  string // where creds came from, for messages: NATS_CREDS, ...
}

// openNATS starts the embedded server (unless NATS_URL is set) and connects twice: as the
// instance and as the relay. A server that is down is retried for ever (NATS being down
// delays fan-out, it never stops writes); a server that refuses the credentials or their TLS
// certificate stops the start with a message naming the variable at fault.
func openNATS(cfg Config, log *slog.Logger) (*messaging, error) {
	m := &messaging{}
	url := cfg.NATSURL
	instance := natsIdentity{role: natsserver.RoleInstance, creds: cfg.NATSCreds, from: "NATS_CREDS"}
	relay := natsIdentity{role: natsserver.RoleRelay, creds: cfg.NATSRelayCreds, from: "PAYLENT_NATS_RELAY_CREDS"}
	if relay.creds == "" {
		relay.creds, relay.from = cfg.NATSCreds, "NATS_CREDS"
	}
	if url == "" {
		creds, err := natsserver.EnsureCredentials(embeddedCredentialsDir(cfg))
		if err != nil {
			return nil, err
		}
		srv, err := natsserver.Start(natsserver.Options{Listen: cfg.NATSListen, StoreDir: filepath.Dir(creds.Dir()),
			Logger: log, Credentials: creds})
		if err != nil {
			return nil, err
		}
		m.server, url = srv, srv.ClientURL()
		// Where it really listens, for `paylent nats credentials` run without the same
		// PAYLENT_NATS_LISTEN.
		if err := os.WriteFile(filepath.Join(filepath.Dir(creds.Dir()), natsURLFile), []byte(url+"\n"), 0o600); err != nil {
			log.Warn("cannot record the embedded NATS address", "err", err)
		}
		instance.creds, instance.from = creds.Path(natsserver.RoleInstance), "the embedded server's instance credential"
		relay.creds, relay.from = creds.Path(natsserver.RoleRelay), "the embedded server's relay credential"
	}
	var err error
	if m.conn, err = connectNATS(cfg, url, instance, log); err != nil {
		m.close()
		return nil, err
	}
	if m.js, err = jetstream.New(m.conn); err != nil {
		m.close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if m.relay, err = connectNATS(cfg, url, relay, log); err != nil {
		m.close()
		return nil, err
	}
	m.relayJS, err = jetstream.New(m.relay, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(5*time.Second))
	if err != nil {
		m.close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return m, nil
}

// embeddedCredentialsDir holds the embedded server's identities (see `paylent nats credentials`).
func embeddedCredentialsDir(cfg Config) string {
	return filepath.Join(cfg.DataDir, "nats", "credentials")
}

// connectNATS connects as id. The first attempt tells a refusal (a start error) from an
// absent server (retried in the background, as every later reconnection is).
func connectNATS(cfg Config, url string, id natsIdentity, log *slog.Logger) (*nats.Conn, error) {
	log = log.With("nats_identity", string(id.role))
	opts := []nats.Option{nats.Name("paylent " + string(id.role)), nats.CustomInboxPrefix(id.role.InboxPrefix()),
		nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		// A credential refused on a reconnection (rotated on the server first) is retried too.
		nats.IgnoreAuthErrorAbort(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("NATS reconnected") }),
		// Permission violations land here: a NATS configuration that does not grant this
		// identity what it needs (see deploy/nats/nats-server.conf).
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Error("NATS error", "err", err)
		})}
	if id.creds != "" {
		opt, err := resourceserver.NATSCredentials(id.creds)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id.from, err)
		}
		opts = append(opts, opt)
	}
	if cfg.NATSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.NATSCA))
	}
	nc, err := nats.Connect(url, opts...)
	switch {
	case err == nil:
		if !nc.AuthRequired() && id.role == natsserver.RoleInstance {
			log.Warn("NATS accepts anonymous connections: anyone who reaches it can publish events; " +
				"give it identities (deploy/nats/nats-server.conf) and set NATS_CREDS")
		}
		return nc, nil
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked),
		errors.Is(err, nats.ErrAccountAuthExpired):
		if id.creds == "" {
			return nil, errors.New("NATS at NATS_URL requires credentials: set NATS_CREDS (and PAYLENT_NATS_RELAY_CREDS for the relay's identity; see README.md)")
		}
		return nil, fmt.Errorf("NATS refused the credentials in %s: %s (is its public key in the server's configuration? see deploy/nats/nats-server.conf)",
			id.from, strings.ToLower(strings.TrimPrefix(err.Error(), "nats: ")))
	case isTLSError(err):
		return nil, fmt.Errorf("NATS TLS with %s: %w (set NATS_CA to the CA that signed the server's certificate)", url, err)
	default: // not reachable yet
		log.Warn("NATS is not reachable yet; connecting in the background", "err", err)
		nc, err = nats.Connect(url, append(opts, nats.RetryOnFailedConnect(true))...)
		if err != nil {
			return nil, fmt.Errorf("connect to NATS: %w", err)
		}
		return nc, nil
	}
}

func isTLSError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname) || errors.As(err, &verify) ||
		errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrSecureConnWanted)
}

func (m *messaging) ready(ctx context.Context) error {
	if !m.conn.IsConnected() {
		return errors.New("not connected to NATS")
	}
	if !m.relay.IsConnected() {
		return errors.New("the relay is not connected to NATS")
	}
	_, err := m.js.Stream(ctx, domain.StreamName)
	return err
}

func (m *messaging) close() {
	for _, nc := range []*nats.Conn{m.relay, m.conn} {
		if nc != nil {
			nc.FlushTimeout(2 * time.Second) //nolint:errcheck // best effort at shutdown
			nc.Close()
		}
	}
	if m.server != nil {
		m.server.Shutdown()
	}
}
