package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/projections/tokens"
)

// cliSession is a CLI command's database, operations layer and read models. The read models
// follow the event store alone (no NATS, no checkpoints: they are the command's own, rebuilt
// from the log), so reads name their freshness as a server's do: Current waits until they
// have applied the log's head as read now, and the operations that end access (deleting a
// client, disabling a user, resetting a password) find what the party holds as they do in
// the server.
type cliSession struct {
	db       *database
	ops      *app.App
	catalog  *catalog.Catalog
	runtimes []*projections.Runtime
	stop     func()
}

// openSession opens the database and starts the read models; close ends both. mk is the
// master key where the command needs it (sealing a password hash), else nil.
func openSession(ctx context.Context, env *cliEnv, needKey bool) (*cliSession, error) {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return nil, err
	}
	var mk []byte
	if needKey {
		if mk, err = masterKey(env.cfg); err != nil {
			db.close()
			return nil, err
		}
	}
	s := &cliSession{db: db, catalog: catalog.New()}
	tok, sess := tokens.New(), sessions.New()
	byName := map[string]*projections.Runtime{}
	for _, p := range []projections.Projection{s.catalog, tok, sess} {
		rt := projections.New(projections.Options{Projection: p, Source: db.store, Registry: db.registry, Logger: env.log})
		s.runtimes = append(s.runtimes, rt)
		byName[p.Name()] = rt
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, rt := range s.runtimes {
		wg.Go(func() {
			if err := rt.Run(runCtx); err != nil {
				env.log.Warn("read model stopped", "projection", rt.Name(), "err", err)
			}
		})
	}
	s.stop = func() { cancel(); wg.Wait(); db.close() }
	s.ops = app.New(app.Options{Loop: db.loop, MasterKey: mk, Hasher: env.hasher, Registry: db.registry, Logger: env.log,
		ReadModels: app.ReadModels{Head: projections.NewHeadReader(db.store.Head),
			Catalog: s.catalog, CatalogReady: byName[catalog.Name], Tokens: tok, TokensReady: byName[tokens.Name],
			Sessions: sess, SessionsReady: byName[sessions.Name]}})
	return s, nil
}

func (s *cliSession) close() { s.stop() }

// current waits until the catalog has applied the log's head: what was committed before the
// command started (by any instance) is in what it reads.
func (s *cliSession) current(ctx context.Context) error {
	if err := s.ops.Current(ctx, s.runtimes[0]); err != nil {
		return fmt.Errorf("read the catalog: %w", err)
	}
	return nil
}

// environment checks that the environment exists (at the log's head).
func (s *cliSession) environment(ctx context.Context, slug string) error {
	if err := s.current(ctx); err != nil {
		return err
	}
	if _, ok := s.catalog.Environment(slug); !ok {
		return fmt.Errorf("environment %q does not exist", slug)
	}
	return nil
}

// notFound names what was not found, in which environment, for a not-found error (an unknown
// environment says so), and leaves every other error as it is.
func (s *cliSession) notFound(err error, slug, what string) error {
	if !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	if _, ok := s.catalog.Environment(slug); !ok {
		return fmt.Errorf("environment %q does not exist", slug)
	}
	return fmt.Errorf("no %s in environment %q", what, slug)
}
