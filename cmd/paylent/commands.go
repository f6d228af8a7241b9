package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/paylent/paylent/internal/eventsig"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/migrations"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/projections/mailqueue"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/projections/tokens"
	"github.com/paylent/paylent/tenants"
)

// operatorActor is the actor of CLI commands: the operator at this machine.
func operatorActor(via string) domain.Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return domain.Actor{Kind: domain.ActorOperator, ID: name, UserAgent: "paylent-cli/" + via}
}

func migrateCommand() verb {
	return newVerb("migrate", "apply database migrations", migrate)
}

func migrate(ctx context.Context, env *cliEnv) error {
	db, err := openDatabase(ctx, env.cfg, env.log) // applies the migrations
	if err != nil {
		return err
	}
	defer db.close()
	url := env.cfg.DatabaseURL
	if db.cluster != nil {
		url = db.cluster.URL("paylent")
	}
	current, target, err := migrations.Version(ctx, url)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "database schema at version %d (newest known: %d)\n", current, target)
	return nil
}

func envCreateCommand() verb {
	var acct, slug, name, alg string
	var asJSON bool
	v := newVerb("create --account ACCOUNT --slug SLUG [--name NAME] [--signing-alg RS256|ES256] [--json]",
		"create an environment (and its account on first use)",
		func(ctx context.Context, env *cliEnv) error {
			return envCreate(ctx, env, acct, slug, name, alg, asJSON)
		})
	f := v.cmd.Flags()
	f.StringVar(&acct, "account", "", "account that owns the environment (created on first use)")
	f.StringVar(&slug, "slug", "", "environment slug: its host is <slug>.<public domain>")
	f.StringVar(&name, "name", "", "display name (default: the slug)")
	f.StringVar(&alg, "signing-alg", environment.SigningRS256, "algorithm of the environment's signing keys, for good: "+
		strings.Join(environment.SigningAlgs, " or ")+" (ES256 keys are made in microseconds, but every client and API must accept ES256)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	required(v.cmd, "account", "slug")
	completeWith(v.cmd, "signing-alg", environment.SigningAlgs...)
	return v
}

func envCreate(ctx context.Context, env *cliEnv, acct, slug, name, alg string, asJSON bool) error {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	mk, err := masterKey(env.cfg)
	if err != nil {
		return err
	}
	res, err := app.New(app.Options{Loop: db.loop, MasterKey: mk}).CreateEnvironment(ctx,
		app.CreateEnvironment{Account: acct, Slug: slug, DisplayName: name, SigningAlg: alg}, operatorActor("env-create"))
	if err != nil {
		return err
	}
	dir := tenants.NewDirectory(nil, env.cfg.PublicDomain, env.cfg.PublicScheme)
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]any{
			"environment": slug, "account": acct, "issuer": dir.Issuer(slug), "position": res.Position,
			"signing_alg": res.SigningAlg})
	}
	fmt.Fprintf(env.stdout, "created environment %s (account %s)\n  issuer: %s\n  signing keys: %s\n  position: %d\n",
		slug, acct, dir.Issuer(slug), res.SigningAlg, res.Position)
	return nil
}

func eventsCommand() verb {
	var slug string
	var after int64
	var follow bool
	v := newVerb("events --env ENV [--after POSITION] [--follow]", "print an environment's events as NDJSON envelopes",
		func(ctx context.Context, env *cliEnv) error { return events(ctx, env, slug, after, follow) })
	f := v.cmd.Flags()
	f.StringVar(&slug, "env", "", "environment whose events to print")
	f.Int64Var(&after, "after", 0, "print events after this global position")
	f.BoolVar(&follow, "follow", false, "keep printing new events until interrupted")
	required(v.cmd, "env")
	return v
}

func events(ctx context.Context, env *cliEnv, slug string, after int64, follow bool) error {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	wake := make(chan struct{}, 1)
	if follow {
		go db.store.Listen(ctx, eventstore.NotifyChannel, func(string) { //nolint:errcheck // ends with ctx
			select {
			case wake <- struct{}{}:
			default:
			}
		})
	}
	// Each line carries the relay's signature, so what is printed can be verified as a NATS
	// message is (docs/EVENTS.md); without the master key the lines are printed unsigned.
	var signer *eventsig.Signer
	if mk, err := masterKey(env.cfg); err == nil {
		signer = eventsig.Derive(mk, eventsig.CurrentVersion)
	} else {
		env.log.Warn("events are printed without signatures", "err", err)
	}
	enc := json.NewEncoder(env.stdout)
	pos := after
	for {
		batch, err := db.store.ReadEnvironment(ctx, slug, pos, 1000)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range batch {
			line := any(e)
			if signer != nil {
				line = signer.Envelope(e)
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
			pos = e.Position
		}
		if len(batch) == 1000 {
			continue
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(time.Second):
		}
	}
}

func verifyCommand() verb {
	var slug string
	var asJSON bool
	v := newVerb("verify --env ENV [--json]", "check an environment's hash chain (exit 1 on tampering)",
		func(ctx context.Context, env *cliEnv) error { return verify(ctx, env, slug, asJSON) })
	v.cmd.Flags().StringVar(&slug, "env", "", "environment to verify")
	v.cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	required(v.cmd, "env")
	return v
}

func verify(ctx context.Context, env *cliEnv, slug string, asJSON bool) error {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	rep, err := eventstore.Verify(ctx, db.store, slug)
	var broken *eventstore.ChainError
	if err != nil && !errors.As(err, &broken) {
		return err
	}
	// Every environment's log starts with environment.created: an intact chain of no events
	// is an environment that does not exist (a typo), not one that verified.
	missing := broken == nil && rep.Events == 0
	if asJSON {
		out := map[string]any{"environment": slug, "ok": broken == nil && !missing, "events": rep.Events, "head": rep.Head}
		if broken != nil {
			out["bad_position"], out["reason"] = broken.Position, broken.Reason
		}
		if missing {
			out["reason"] = "no such environment"
		}
		if err := json.NewEncoder(env.stdout).Encode(out); err != nil {
			return err
		}
	} else if broken == nil && !missing {
		fmt.Fprintf(env.stdout, "environment %s: hash chain intact (%d events, head position %d, head hash %x)\n",
			slug, rep.Events, rep.Head, rep.HeadHash)
	}
	if broken != nil {
		return fmt.Errorf("TAMPERED: %w", broken)
	}
	if missing {
		return fmt.Errorf("environment %q does not exist: it has no events (check the slug)", slug)
	}
	return nil
}

// projectionFactories names every projection this build runs.
var projectionFactories = map[string]func() projections.Projection{
	catalog.Name:   func() projections.Projection { return catalog.New() },
	keys.Name:      func() projections.Projection { return keys.New(nil) }, // replay never decrypts
	tokens.Name:    func() projections.Projection { return tokens.New() },
	sessions.Name:  func() projections.Projection { return sessions.New() },
	mailqueue.Name: func() projections.Projection { return mailqueue.New() },
}

func rebuildCommand() verb {
	var name string
	v := newVerb("rebuild [--name NAME]", "replay the event log into the read models",
		func(ctx context.Context, env *cliEnv) error { return rebuild(ctx, env, name) })
	v.cmd.Flags().StringVar(&name, "name", "", "rebuild only this projection (default: all)")
	completeWith(v.cmd, "name", slices.Sorted(maps.Keys(projectionFactories))...)
	return v
}

func rebuild(ctx context.Context, env *cliEnv, name string) error {
	if _, ok := projectionFactories[name]; name != "" && !ok {
		return fmt.Errorf("%w: unknown projection %q", errUsage, name)
	}
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	cps := projections.DirCheckpoints{Dir: filepath.Join(env.cfg.DataDir, "projections")}
	for pname, factory := range projectionFactories {
		if name != "" && pname != name {
			continue
		}
		started := time.Now()
		p := factory()
		pos, hash, err := projections.Replay(ctx, db.store, db.registry, p)
		if err != nil {
			return err
		}
		took := time.Since(started)
		if err := cps.Write(projections.CheckpointName(p), pos, hash, func(w io.Writer) error { return projections.WriteState(p, w) }); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "rebuilt %s: %d events in %s (%.0f events/s)\n", pname, pos,
			took.Round(time.Millisecond), float64(pos)/max(took.Seconds(), 1e-9))
	}
	// Running servers (any instance on this database) rebuild their live copies too.
	target := name
	if target == "" {
		target = "*"
	}
	if err := db.store.Notify(ctx, controlChannel, "rebuild:"+target); err != nil {
		fmt.Fprintf(env.stderr, "paylent: could not ask running servers to rebuild: %v\n", err)
	}
	return nil
}

// notFoundAsEnv explains a not-found from a create: the environment does not exist.
func notFoundAsEnv(err error, slug string) error {
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("environment %q does not exist", slug)
	}
	return err
}
