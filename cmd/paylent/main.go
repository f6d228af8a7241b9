// Command paylent is the Paylent identity provider: the server (`paylent serve`) and the
// operator's CLI, in one binary. This is the composition root: the only place concrete
// types are wired together and the only package that reads the environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/paylent/paylent/internal/secret"
	"github.com/spf13/cobra"
)

const synopsis = `paylent: a multi-tenant OAuth 2.0 / OpenID Connect provider

  paylent serve                                  run the server (embedded PostgreSQL and NATS by default)
  paylent migrate                                apply database migrations
  paylent env create --account A --slug S        create an environment (and its account on first use)
                     [--signing-alg RS256|ES256] [--json]
  paylent clients create --env E --name N --type confidential|public --grant G... [--redirect-uri U]...
                         [--scope S]... [--token-format jwt|opaque] [--json]
  paylent clients list|get|update|delete --env E [--id ID] [--json]
  paylent apis create --env E --identifier URI --name N
  paylent apis list --env E [--json]
  paylent scopes create --env E --name N --description D [--api URI]
  paylent scopes list|get|update|delete --env E [--name N] [--description D] [--api URI] [--json]
  paylent users create --env E --email M (--password P | --password-stdin) --name N [--json]
  paylent users list --env E [--email-prefix P] [--after EMAIL] [--limit N] [--json]
  paylent users get|update|delete --env E (--id ID | --email M) [--name N] [--disable | --enable] [--json]
  paylent users reset-password --env E --email M (--password-stdin | --generate) [--json]
                                                 set a new password; ends every session and token of the user
  paylent mail tail [--follow]                   show the dev outbox (mail sent without PAYLENT_SMTP_URL)
  paylent events --env E [--after P] [--follow]  print an environment's events as NDJSON envelopes
  paylent verify --env E                         check an environment's hash chain (exit 1 on tampering)
  paylent projections rebuild [--name N]         replay the event log into the read models
  paylent keys rotate|list --env E [--json]      replace the primary signing key / list the keys
  paylent tokens revoke --env E (--jti J | --token-stdin) [--json]
                                                 revoke any token (a refresh token ends its grant)
  paylent operators create --account A --email M [--name N] [--password-stdin] [--json]
                                                 let a person manage account A in the dashboard
  paylent operators list --account A [--json] / operators remove --account A --email M
  paylent nats credentials --role subscriber|instance|relay [--json]
                                                 the embedded NATS's URL and a credentials file
                                                 (subscriber: read-only, for downstream services)
  paylent nats keygen --dir DIR [--json]         identities for a shared NATS (deploy/nats)
  paylent completion bash|zsh|fish               a shell completion script

Every command takes --help. Usage errors exit 2, failures 1. Configuration comes from
PAYLENT_* variables (see README.md).`

// exitUsage is the exit code for a command line that cannot be understood.
const exitUsage = 2

// errUsage marks errors that are the caller's command line, not a failure.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cliEnv is what every command's action receives: the configuration, loaded once.
type cliEnv struct {
	cfg    Config
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// hasher is the process's one password hasher: every hash and verification of a
	// password, by the server and by the CLI, runs within its budget.
	hasher *secret.Hasher
}

// run runs the command line args (without the program's name) and returns the exit code:
// 0, 1 for a failure, 2 for a command line that cannot be understood. Nothing reads
// os.Args or the environment but through args and getenv.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := c.root()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(stdin)
	cmd, err := root.ExecuteContextC(ctx)
	return c.exit(cmd, err)
}

// exit reports err on stderr, naming the command, and returns the exit code.
func (c *cli) exit(cmd *cobra.Command, err error) int {
	var cfgErr *configError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errNoCommand):
		return exitUsage
	case errors.As(err, &cfgErr):
		fmt.Fprintf(c.stderr, "paylent: configuration:\n%v\n", cfgErr.err)
		return exitUsage
	}
	name := "paylent"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	// errUsage marks an error; its text is not part of the message.
	fmt.Fprintf(c.stderr, "%s: %s\n", name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
	if !c.started || errors.Is(err, errUsage) {
		fmt.Fprintf(c.stderr, "%sRun '%s --help' for usage.\n", requiredHint(err), name)
		return exitUsage
	}
	return 1
}

// requiredHint restates cobra's "required flag(s) "a", "b" not set" as the sentence earlier
// versions printed ("--a and --b are required. "), which scripts may look for.
func requiredHint(err error) string {
	msg, ok := strings.CutPrefix(err.Error(), "required flag(s) ")
	if !ok {
		return ""
	}
	var names []string
	for _, m := range quoted.FindAllStringSubmatch(msg, -1) {
		names = append(names, "--"+m[1])
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0] + " is required. "
	default:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are required. "
	}
}

var quoted = regexp.MustCompile(`"([^"]+)"`)

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
