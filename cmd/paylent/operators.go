package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/paylent/paylent/api/dashboard"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/tenants"
)

// ensureOperators makes the operators' environment exist, with the dashboard's client
// registered for this public domain and master key. Idempotent: every instance runs it at
// start, and `paylent operators create` before adding an operator.
func ensureOperators(ctx context.Context, loop *eventstore.Loop, cfg Config, mk []byte) error {
	_, err := app.New(app.Options{Loop: loop, MasterKey: mk}).CreateEnvironment(ctx, app.CreateEnvironment{
		Account: domain.OperatorsAccount, Slug: domain.OperatorsEnvironment, DisplayName: "Paylent operators", System: true},
		systemActor("operators"))
	if err != nil && !errors.Is(err, environment.ErrSlugTaken) {
		return fmt.Errorf("create the operators' environment: %w", err)
	}
	return ensureDashboardClient(ctx, loop, cfg, mk)
}

// ensureDashboardClient registers the dashboard's client, or updates its URIs and secret
// when the public domain or the master key changed.
func ensureDashboardClient(ctx context.Context, loop *eventstore.Loop, cfg Config, mk []byte) error {
	dir := tenants.NewDirectory(nil, cfg.PublicDomain, cfg.PublicScheme)
	_, err := app.New(app.Options{Loop: loop}).EnsureClient(ctx, app.EnsureClient{Environment: domain.OperatorsEnvironment,
		ClientID: dashboard.ClientID, Type: client.Confidential, Secret: dashboard.ClientSecret(mk),
		Settings: client.Settings{Name: "Paylent dashboard", GrantTypes: []string{client.GrantAuthorizationCode},
			RedirectURIs:           []string{dashboard.RedirectURI(dir, cfg.PublicScheme)},
			PostLogoutRedirectURIs: []string{dashboard.SignedOutURI(dir, cfg.PublicScheme)},
			Scopes:                 []string{"openid", "profile", "email"}, FirstParty: true}}, systemActor("operators"))
	if err != nil {
		return fmt.Errorf("register the dashboard's client: %w", err)
	}
	return nil
}

func systemActor(via string) domain.Actor {
	return domain.Actor{Kind: domain.ActorSystem, ID: "paylent", UserAgent: "paylent/" + via}
}

// addOperator makes the person an operator of the account, creating their user in the
// operators' environment when the address is new (a zero password generates one, returned).
func addOperator(ctx context.Context, ops *app.App, acct, email, name string, pw user.Password) (userID, generated string, err error) {
	added, err := ops.AddOperator(ctx, app.AddOperator{Account: acct, Email: email, Name: name, Password: pw},
		app.AccountAuthority{Host: true}, operatorActor("operators-create"))
	var ve *domain.ValidationError
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return "", "", fmt.Errorf("no account %q: create one of its environments first (paylent env create)", acct)
	case errors.As(err, &ve) && ve.Field == "account":
		return "", "", errors.New(ve.Message)
	case err != nil:
		return "", "", fmt.Errorf("add the operator: %w", err)
	}
	return added.UserID, added.Generated, nil
}

func operatorsCreateCommand() verb {
	var acct, email, name string
	var fromStdin, asJSON bool
	v := newVerb("create --account ACCOUNT --email EMAIL [--name NAME] [--password-stdin] [--json]",
		"let a person manage an account in the dashboard",
		func(ctx context.Context, env *cliEnv) error {
			return operatorsCreate(ctx, env, acct, email, name, fromStdin, asJSON)
		})
	f := v.cmd.Flags()
	f.StringVar(&acct, "account", "", "the account the operator manages in the dashboard")
	f.StringVar(&email, "email", "", "the operator's email address: their sign-in name")
	f.StringVar(&name, "name", "", "the operator's name (default: the address)")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input (default: generate one and print it once)")
	f.BoolVar(&asJSON, "json", false, `print {"user_id": ..., "password": ...}`)
	required(v.cmd, "account", "email")
	return v
}

func operatorsCreate(ctx context.Context, env *cliEnv, acct, email, name string, fromStdin, asJSON bool) error {
	if name == "" {
		name = email
	}
	var password user.Password
	if fromStdin {
		p, err := readPasswordLine(env.stdin)
		if err != nil {
			return err
		}
		if password, err = user.NewPassword(p, email); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	mk, err := masterKey(env.cfg)
	if err != nil {
		return err
	}
	if err := ensureOperators(ctx, db.loop, env.cfg, mk); err != nil {
		return err
	}
	id, generated, err := addOperator(ctx, operations(env, db, mk), acct, email, name, password)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]string{"user_id": id, "password": generated})
	}
	dash := env.cfg.PublicScheme + "://" + tenants.NewDirectory(nil, env.cfg.PublicDomain, env.cfg.PublicScheme).DashboardHost()
	fmt.Fprintf(env.stdout, "%s operates account %s; dashboard: %s\n", user.NormalizeEmail(email), acct, dash)
	if generated != "" {
		fmt.Fprintf(env.stdout, "password: %s   (shown once)\n", generated)
	}
	return nil
}

// readPasswordLine reads a password from the first line of standard input.
func readPasswordLine(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// accountOperators reads an account's operators (user id → email) from its stream.
func accountOperators(ctx context.Context, db *database, acct string) (map[string]string, error) {
	envs, err := db.store.ReadStream(ctx, account.Stream(acct).Stream)
	if err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		return nil, fmt.Errorf("no account %q", acct)
	}
	ops := map[string]string{}
	for _, e := range envs {
		rec, err := db.registry.DecodeEnvelope(e)
		if err != nil {
			return nil, err
		}
		switch ev := rec.Event.(type) {
		case account.OperatorAdded:
			ops[ev.UserID] = ev.Email
		case account.OperatorRemoved:
			delete(ops, ev.UserID)
		}
	}
	return ops, nil
}

func operatorsListCommand() verb {
	var acct string
	var asJSON bool
	v := newVerb("list --account ACCOUNT [--json]", "list an account's operators",
		func(ctx context.Context, env *cliEnv) error { return operatorsList(ctx, env, acct, asJSON) })
	v.cmd.Flags().StringVar(&acct, "account", "", "the account")
	v.cmd.Flags().BoolVar(&asJSON, "json", false, `print [{"user_id": ..., "email": ...}]`)
	required(v.cmd, "account")
	return v
}

func operatorsList(ctx context.Context, env *cliEnv, acct string, asJSON bool) error {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	ops, err := accountOperators(ctx, db, acct)
	if err != nil {
		return err
	}
	type row struct {
		UserID string `json:"user_id"`
		Email  string `json:"email"`
	}
	rows := make([]row, 0, len(ops))
	for id, email := range ops {
		rows = append(rows, row{id, email})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Email < rows[j].Email })
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(rows)
	}
	for _, r := range rows {
		fmt.Fprintf(env.stdout, "%s\t%s\n", r.Email, r.UserID)
	}
	return nil
}

func operatorsRemoveCommand() verb {
	var acct, email string
	v := newVerb("remove --account ACCOUNT --email EMAIL", "stop a person managing an account",
		func(ctx context.Context, env *cliEnv) error { return operatorsRemove(ctx, env, acct, email) })
	v.cmd.Flags().StringVar(&acct, "account", "", "the account")
	v.cmd.Flags().StringVar(&email, "email", "", "the operator's email address")
	required(v.cmd, "account", "email")
	return v
}

func operatorsRemove(ctx context.Context, env *cliEnv, acct, email string) error {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	ops := operations(env, db, nil)
	id, err := ops.OperatorUserID(ctx, email)
	if err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("%s is not an operator", user.NormalizeEmail(email))
	}
	if _, err := ops.RemoveOperator(ctx, app.RemoveOperator{Account: acct, UserID: id}, app.AccountAuthority{Host: true},
		operatorActor("operators-remove")); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("%s does not operate account %s", user.NormalizeEmail(email), acct)
		}
		return err
	}
	fmt.Fprintf(env.stdout, "%s no longer operates account %s\n", user.NormalizeEmail(email), acct)
	return nil
}
