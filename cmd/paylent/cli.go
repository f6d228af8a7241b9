package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/paylent/paylent/internal/secret"
	"github.com/spf13/cobra"
)

// cli is the command tree's shared state: the process's streams and environment, and
// whether a command's action began (what fails before is the command line: exit 2).
type cli struct {
	getenv  func(string) string
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	started bool
}

// errNoCommand: `paylent` alone; its help is printed, the exit code says it did nothing.
var errNoCommand = errors.New("no command")

// configError is a configuration that does not validate: every problem, at once.
type configError struct{ err error }

func (e *configError) Error() string { return "configuration: " + e.err.Error() }

// usageTemplate keeps the one-line "Usage: paylent …" synopsis scripts and people know.
const usageTemplate = `{{if .HasAvailableSubCommands}}Usage: {{.CommandPath}} COMMAND [flags]{{else}}Usage: {{.UseLine}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} COMMAND --help" for more about a command.{{end}}
`

// root builds the command tree.
func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "paylent",
		Short: "a multi-tenant OAuth 2.0 / OpenID Connect provider",
		Long:  synopsis,
		// Errors are printed once, by exit, with the command's name.
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmd.Help(); err != nil {
				return err
			}
			return errNoCommand
		},
	}
	root.SetUsageTemplate(usageTemplate)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w: %w", errUsage, err) })
	root.AddCommand(
		c.action(serveCommand()),
		c.action(migrateCommand()),
		c.group("env", "environments", envCreateCommand()),
		c.group("clients", "OAuth clients of an environment", clientsCreateCommand(), clientsListCommand(),
			clientsGetCommand(), clientsUpdateCommand(), clientsDeleteCommand()),
		c.group("apis", "APIs (resource servers) of an environment", apisCreateCommand(), apisListCommand()),
		c.group("scopes", "custom scopes of an environment", scopesCreateCommand(), scopesListCommand(),
			scopesGetCommand(), scopesUpdateCommand(), scopesDeleteCommand()),
		c.usersGroup(),
		c.group("mail", "the dev outbox", mailTailCommand()),
		c.action(eventsCommand()),
		c.action(verifyCommand()),
		c.group("projections", "read models", rebuildCommand()),
		c.group("keys", "signing keys of an environment", keysRotateCommand(), keysListCommand()),
		c.group("tokens", "issued tokens", tokensRevokeCommand()),
		c.group("operators", "who manages an account in the dashboard", operatorsCreateCommand(),
			operatorsListCommand(), operatorsRemoveCommand()),
		c.group("nats", "NATS identities", natsCredentialsCommand(), natsKeygenCommand()),
	)
	return root
}

// usersGroup is `paylent users …`, with `paylent users factors …` inside.
func (c *cli) usersGroup() *cobra.Command {
	g := c.group("users", "users of an environment", usersCreateCommand(), usersListCommand(), usersGetCommand(),
		usersUpdateCommand(), usersDeleteCommand(), usersResetPasswordCommand())
	g.AddCommand(c.usersFactorsGroup())
	return g
}

// verb is one command: its cobra definition and what it does once the flags are parsed.
type verb struct {
	cmd *cobra.Command
	run func(ctx context.Context, env *cliEnv) error
}

// newVerb starts a command: use is its synopsis after the parent's path ("create --env ENV
// [--json]"), short one line of help. Positional arguments are refused.
func newVerb(use, short string, run func(ctx context.Context, env *cliEnv) error) verb {
	return verb{cmd: &cobra.Command{Use: use, Short: short, Args: noArgs, DisableFlagsInUseLine: true}, run: run}
}

// action makes a verb runnable: the configuration is loaded and validated once, and the
// command runs with it.
func (c *cli) action(v verb) *cobra.Command {
	v.cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c.started = true
		cfg := LoadConfig(c.getenv)
		if err := cfg.Validate(); err != nil {
			return &configError{err}
		}
		env := &cliEnv{cfg: cfg, stdin: c.stdin, stdout: c.stdout, stderr: c.stderr, log: newLogger(c.stderr, cfg.LogLevel, cmd.Name() == "serve"),
			hasher: secret.NewHasher(secret.HasherConfig{})}
		return v.run(cmd.Context(), env)
	}
	return v.cmd
}

// group is a command of commands (`paylent clients …`).
func (c *cli) group(name, short string, verbs ...verb) *cobra.Command {
	g := &cobra.Command{Use: name, Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unknown command %q for %q", errUsage, args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error { return fmt.Errorf("%w: missing subcommand", errUsage) },
	}
	for _, v := range verbs {
		g.AddCommand(c.action(v))
	}
	return g
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
	}
	return nil
}

// required marks flags that must be given: cobra names the missing ones
// (`required flag(s) "env" not set`) before the command runs.
func required(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(fmt.Sprintf("paylent %s: no flag %q", cmd.Name(), n))
		}
	}
}

// completeWith completes a flag's value from a fixed list.
func completeWith(cmd *cobra.Command, flag string, values ...string) {
	if err := cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)); err != nil {
		panic(fmt.Sprintf("paylent %s: complete %q: %v", cmd.Name(), flag, err))
	}
}
