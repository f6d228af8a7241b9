package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
	"github.com/paylent/paylent/workers"
)

// controlChannel carries operator requests to every running instance ("rebuild:<name>").
const controlChannel = "paylent_control"

func serveCommand(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "serve", "serve")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, cfg := env.log, env.cfg
	db, err := openDatabase(ctx, cfg, log)
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

	relay := workers.NewRelay(workers.RelayOptions{Pool: db.pool, Store: db.store, JetStream: msg.js, Logger: log})
	goWork("relay", relay.Run)

	cat := catalog.New()
	runtimes := []*projections.Runtime{projections.New(projections.Options{
		Projection: cat, Source: db.store, Registry: db.registry, JetStream: msg.js, Logger: log,
		Checkpoints: projections.DirCheckpoints{Dir: filepath.Join(cfg.DataDir, "projections")},
	})}
	for _, rt := range runtimes {
		goWork("projection "+rt.Name(), rt.Run)
	}
	goWork("control", func(ctx context.Context) error {
		return db.store.Listen(ctx, controlChannel, func(p string) { control(ctx, env, runtimes, p) })
	})

	dir := tenants.NewDirectory(cat, cfg.PublicDomain, cfg.PublicScheme)
	if cfg.Embedded() {
		if err := seed(ctx, env, db, dir); err != nil {
			return err
		}
	}
	app := api.New(api.Options{Directory: dir, Logger: log, Checks: []api.Check{
		{Name: "database", Probe: db.store.Ping},
		{Name: "nats", Probe: msg.ready},
		{Name: "projections", Probe: func(ctx context.Context) error {
			head, err := db.store.Head(ctx)
			if err != nil {
				return err
			}
			for _, rt := range runtimes {
				if !rt.Status().Ready {
					return fmt.Errorf("projection %s is not ready", rt.Name())
				}
				if err := rt.WaitFor(ctx, head); err != nil {
					return err
				}
			}
			return nil
		}},
	}})
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	log.Info("paylent is serving", "http", ln.Addr().String(), "public_domain", cfg.PublicDomain,
		"dashboard", cfg.PublicScheme+"://"+dir.DashboardHost())
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining HTTP")
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
		log.Warn("HTTP drain incomplete", "err", err)
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

// seed creates the demo account and environment on the embedded default's first start and
// says how to reach them.
func seed(ctx context.Context, env *cliEnv, db *database, dir *tenants.Directory) error {
	res, err := db.loop.Execute(ctx, environment.Create{Account: "examples", Slug: "examples-dev",
		DisplayName: "Examples (development)"}, operatorActor("seed"))
	switch {
	case errors.Is(err, environment.ErrSlugTaken):
		return nil
	case err != nil:
		return fmt.Errorf("seed examples-dev: %w", err)
	}
	fmt.Fprintf(env.stdout, `
Paylent is ready. First start: seeded account "examples" with environment "examples-dev".
  issuer:    %s
  readiness: %s/readyz
Create more with: paylent env create --account ACCOUNT --slug SLUG
`, dir.Issuer("examples-dev"), dir.Issuer("examples-dev"))
	env.log.Debug("seeded", "position", res.Position)
	return nil
}
