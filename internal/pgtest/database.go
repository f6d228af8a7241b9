package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paylent/paylent/internal/pgcluster"
	"github.com/paylent/paylent/migrations"
)

const (
	// templateName is the migrated database that every test database copies.
	templateName = "paylent_template"
	// lockKey is the advisory lock that serialises template builds and copies across
	// test binaries sharing one server (PostgreSQL cannot copy a template while another
	// session uses it, and one template cannot be copied twice at once).
	lockKey = 0x7061796c656e7402
)

// server is a PostgreSQL server on which pgtest creates databases.
type server struct {
	admin   *url.URL           // a database to run CREATE and DROP DATABASE from
	cluster *pgcluster.Cluster // nil for TEST_DATABASE_URL
	mu      sync.Mutex         // serialises CREATE DATABASE within the process
	copy    string             // how CREATE DATABASE copies the template
}

// newServer prepares a server reached through adminURL.
func newServer(adminURL string, c *pgcluster.Cluster) (*server, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("parse database URL: want postgres://user:password@host:port/database")
	}
	return &server{admin: u, cluster: c}, nil
}

// url returns the URL of database on s.
func (s *server) url(database string) string {
	u := *s.admin
	u.Path = "/" + database
	u.RawPath = ""
	return u.String()
}

// buildTemplate (re)creates the template database and migrates it.
func (s *server) buildTemplate(ctx context.Context) error {
	return s.locked(ctx, func(conn *pgx.Conn) error {
		// PostgreSQL 15 copies block by block through the WAL by default; copying the
		// files is faster for a small template.
		var version int
		if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
			return fmt.Errorf("read server version: %w", err)
		}
		if version >= 150000 {
			s.copy = " STRATEGY FILE_COPY"
		}
		name := pgx.Identifier{templateName}.Sanitize()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop template database: %w", err)
		}
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			return fmt.Errorf("create template database: %w", err)
		}
		if err := migrations.Up(ctx, s.url(templateName), nil); err != nil {
			return fmt.Errorf("migrate template database: %w", err)
		}
		return nil
	})
}

// newDatabase copies the template into a new database that is dropped when t ends.
func (s *server) newDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := databaseName(t)
	err := s.locked(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
			" TEMPLATE "+pgx.Identifier{templateName}.Sanitize()+s.copy)
		return err
	})
	if err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { s.dropDatabase(t, name) })
	return s.url(name)
}

// createMigrated creates an empty database, migrates it and drops it when t ends.
func (s *server) createMigrated(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := databaseName(t)
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { s.dropDatabase(t, name) })
	if err := migrations.Up(ctx, s.url(name), nil); err != nil {
		t.Fatalf("pgtest: migrate database %s: %v", name, err)
	}
	return s.url(name)
}

// dropDatabase drops name, disconnecting whoever still uses it.
func (s *server) dropDatabase(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err == nil {
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		conn.Close(ctx)
	}
	if err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// locked runs f on a connection to the admin database while holding the process's mutex
// and the cross-process advisory lock.
func (s *server) locked(ctx context.Context, f func(*pgx.Conn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s.admin.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(lockKey)); err != nil {
		return fmt.Errorf("take template lock: %w", err)
	}
	// Closing the connection releases the lock too; unlock explicitly to hand it on sooner.
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(lockKey)) }()
	return f(conn)
}

// databaseName returns a new database name that shows which test it belongs to.
func databaseName(t testing.TB) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(t.Name()) {
		if b.Len() >= 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	suffix := make([]byte, 5)
	_, _ = rand.Read(suffix)
	return b.String() + "_" + hex.EncodeToString(suffix)
}
