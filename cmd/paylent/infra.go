package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	db.store = eventstore.NewPostgres(pool, eventstore.PostgresOptions{Logger: log})
	db.loop = eventstore.NewLoop(db.store, db.registry, time.Now)
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

// messaging is the NATS connection, and the embedded server when there is one.
type messaging struct {
	server *natsserver.Server
	conn   *nats.Conn
	js     jetstream.JetStream
}

// openNATS starts the embedded server (unless NATS_URL is set) and connects. The connection
// retries for ever: NATS being down delays fan-out, it never stops writes.
func openNATS(cfg Config, log *slog.Logger) (*messaging, error) {
	m := &messaging{}
	url := cfg.NATSURL
	if url == "" {
		dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "nats"))
		if err != nil {
			return nil, err
		}
		srv, err := natsserver.Start(natsserver.Options{Listen: cfg.NATSListen, StoreDir: dir, Logger: log})
		if err != nil {
			return nil, err
		}
		m.server, url = srv, srv.ClientURL()
	}
	nc, err := nats.Connect(url, nats.Name("paylent"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("NATS reconnected") }))
	if err != nil {
		m.close()
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	m.conn = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(5*time.Second))
	if err != nil {
		m.close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	m.js = js
	return m, nil
}

func (m *messaging) ready(ctx context.Context) error {
	if !m.conn.IsConnected() {
		return errors.New("not connected to NATS")
	}
	_, err := m.js.Stream(ctx, domain.StreamName)
	return err
}

func (m *messaging) close() {
	if m.conn != nil {
		m.conn.FlushTimeout(2 * time.Second) //nolint:errcheck // best effort at shutdown
		m.conn.Close()
	}
	if m.server != nil {
		m.server.Shutdown()
	}
}
