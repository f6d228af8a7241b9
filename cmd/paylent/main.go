// Command paylent is the Paylent identity provider: the server (`paylent serve`) and the
// operator's CLI, in one binary. This is the composition root: the only place concrete
// types are wired together and the only package that reads the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/paylent/paylent/internal/secret"
)

const usage = `paylent: a multi-tenant OAuth 2.0 / OpenID Connect provider

Usage:
  paylent serve                                  run the server (embedded PostgreSQL and NATS by default)
  paylent migrate                                apply database migrations
  paylent env create --account A --slug S        create an environment (and its account on first use)
  paylent clients create --env E --name N --type confidential|public --grant G... [--redirect-uri U]...
                         [--scope S]... [--token-format jwt|opaque] [--json]
  paylent apis create --env E --identifier URI --name N
  paylent apis list --env E [--json]
  paylent scopes create --env E --name N --description D [--api URI]
  paylent users create --env E --email M (--password P | --password-stdin) --name N [--json]
  paylent mail tail [--follow]                   show the dev outbox (mail sent without PAYLENT_SMTP_URL)
  paylent events --env E [--after P] [--follow]  print an environment's events as NDJSON envelopes
  paylent verify --env E                         check an environment's hash chain (exit 1 on tampering)
  paylent projections rebuild [--name N]         replay the event log into the read models
  paylent keys rotate|list --env E [--json]     replace the primary signing key / list the keys
  paylent tokens revoke --env E (--jti J | --token-stdin) [--json]
                                                 revoke any token (a refresh token ends its grant)
  paylent operators create --account A --email M [--name N] [--password-stdin] [--json]
                                                 let a person manage account A in the dashboard
  paylent operators list --account A [--json] / operators remove --account A --email M
  paylent nats credentials --role subscriber|instance|relay [--json]
                                                 the embedded NATS's URL and a credentials file
                                                 (subscriber: read-only, for downstream services)
  paylent nats keygen --dir DIR [--json]         identities for a shared NATS (deploy/nats)

Every command takes --help. Configuration comes from PAYLENT_* variables (see README.md).
`

// exitUsage is the exit code for a command line that cannot be understood.
const exitUsage = 2

// errUsage marks errors that are the caller's command line, not a failure.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one CLI verb.
type command func(ctx context.Context, env *cliEnv, args []string) error

// cliEnv is what every command receives.
type cliEnv struct {
	cfg    Config
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// hasher is the process's one password hasher: every hash and verification of a
	// password, by the server and by the CLI, runs within its budget.
	hasher *secret.Hasher
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	commands := map[string]command{
		"serve":       serveCommand,
		"migrate":     migrateCommand,
		"env":         subcommands(map[string]command{"create": envCreateCommand}),
		"events":      eventsCommand,
		"clients":     subcommands(map[string]command{"create": clientsCreateCommand}),
		"scopes":      subcommands(map[string]command{"create": scopesCreateCommand}),
		"users":       subcommands(map[string]command{"create": usersCreateCommand}),
		"mail":        subcommands(map[string]command{"tail": mailTailCommand}),
		"apis":        subcommands(map[string]command{"create": apisCreateCommand, "list": apisListCommand}),
		"verify":      verifyCommand,
		"projections": subcommands(map[string]command{"rebuild": rebuildCommand}),
		"keys":        subcommands(map[string]command{"rotate": keysRotateCommand, "list": keysListCommand}),
		"operators": subcommands(map[string]command{"create": operatorsCreateCommand, "list": operatorsListCommand,
			"remove": operatorsRemoveCommand}),
		"nats":   subcommands(map[string]command{"credentials": natsCredentialsCommand, "keygen": natsKeygenCommand}),
		"tokens": subcommands(map[string]command{"revoke": tokensRevokeCommand}),
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "paylent: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	cfg := LoadConfig(getenv)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "paylent: configuration:\n%v\n", err)
		return exitUsage
	}
	env := &cliEnv{cfg: cfg, stdout: stdout, stderr: stderr, log: newLogger(stderr, cfg.LogLevel, args[0] == "serve"),
		hasher: secret.NewHasher(secret.HasherConfig{})}
	err := cmd(ctx, env, args[1:])
	name := args[0]
	if len(args) > 1 && (name == "env" || name == "projections" || name == "clients" || name == "scopes" || name == "users" || name == "keys" || name == "mail" || name == "apis" || name == "operators" || name == "nats") {
		name += " " + args[1]
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "paylent %s: %v\n", name, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "paylent %s: %v\n", name, err)
		return 1
	}
}

func subcommands(subs map[string]command) command {
	return func(ctx context.Context, env *cliEnv, args []string) error {
		if len(args) == 0 {
			return fmt.Errorf("%w: missing subcommand", errUsage)
		}
		sub, ok := subs[args[0]]
		if !ok {
			return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
		}
		return sub(ctx, env, args[1:])
	}
}

// newLogger logs text to w. The server logs at the configured level; CLI commands only warn
// (their output is for people and scripts).
func newLogger(w io.Writer, level string, server bool) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	if !server && l < slog.LevelWarn {
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// flags builds a FlagSet whose errors and help go to env.stderr.
func flags(env *cliEnv, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: paylent %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
