package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/user"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func clientsCreateCommand(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "clients create", "clients create --env ENV --name NAME --type confidential|public --grant GRANT... [--redirect-uri URI]... [--scope SCOPE]... [--token-format jwt|opaque] [--first-party] [--json]")
	slug := fs.String("env", "", "environment")
	name := fs.String("name", "", "the application's name, shown on the consent page")
	typ := fs.String("type", "", "confidential (server-side, has a secret) or public (SPA, mobile, CLI: PKCE)")
	format := fs.String("token-format", "", "access token format: jwt or opaque (default: the environment's)")
	retry := fs.Int64("refresh-retry-window", 0, "seconds within which a just-rotated refresh token may be presented again")
	firstParty := fs.Bool("first-party", false, "your own application: users are not asked for consent (confidential clients only)")
	asJSON := fs.Bool("json", false, `print {"client_id": ..., "client_secret": ...}`)
	var grants, uris, scopes, logoutURIs stringList
	fs.Var(&logoutURIs, "post-logout-redirect-uri", "where RP-initiated logout may return (repeatable)")
	fs.Var(&grants, "grant", "allowed grant type: authorization_code, client_credentials, refresh_token (repeatable)")
	fs.Var(&uris, "redirect-uri", "allowed redirect URI, matched exactly (repeatable)")
	fs.Var(&scopes, "scope", "allowed scope (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *slug == "" || *name == "" || *typ == "" || len(grants) == 0 {
		return fmt.Errorf("%w: --env, --name, --type and at least one --grant are required", errUsage)
	}
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	reg, err := operations(env, db, nil).RegisterClient(ctx, app.RegisterClient{Environment: *slug, Type: client.Type(*typ),
		Grantor: client.OperatorGrantor, Settings: client.Settings{
			Name: *name, GrantTypes: grants, RedirectURIs: uris, Scopes: scopes, PostLogoutRedirectURIs: logoutURIs,
			TokenFormat: environment.TokenFormat(*format), RefreshRetryWindow: *retry, FirstParty: *firstParty}},
		operatorActor("clients-create"))
	if err != nil {
		return notFoundAsEnv(err, *slug)
	}
	id, sec := reg.ClientID, reg.Secret
	if *asJSON {
		out := map[string]string{"client_id": id}
		if sec != "" {
			out["client_secret"] = sec
		}
		return json.NewEncoder(env.stdout).Encode(out)
	}
	fmt.Fprintf(env.stdout, "registered client %q in %s\n  client_id:     %s\n", *name, *slug, id)
	if sec != "" {
		fmt.Fprintf(env.stdout, "  client_secret: %s\n  (shown once: Paylent keeps only its hash)\n", sec)
	}
	return nil
}

func scopesCreateCommand(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "scopes create", "scopes create --env ENV --name NAME --description TEXT [--api IDENTIFIER]")
	slug := fs.String("env", "", "environment")
	name := fs.String("name", "", "scope name, e.g. read:documents")
	desc := fs.String("description", "", "what the scope allows, as the consent page shows it")
	api := fs.String("api", "", "identifier of the API the scope belongs to (tokens with it name that API in aud)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *slug == "" || *name == "" || *desc == "" {
		return fmt.Errorf("%w: --env, --name and --description are required", errUsage)
	}
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	if _, err := operations(env, db, nil).CreateScope(ctx, app.CreateScope{Environment: *slug, Name: *name, Description: *desc, API: *api},
		operatorActor("scopes-create")); err != nil {
		return notFoundAsEnv(err, *slug)
	}
	fmt.Fprintf(env.stdout, "created scope %s in %s\n", *name, *slug)
	return nil
}

func usersCreateCommand(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "users create", "users create --env ENV --email EMAIL (--password PASSWORD | --password-stdin) --name NAME [--json]")
	slug := fs.String("env", "", "environment")
	email := fs.String("email", "", "email address (unique in the environment, case-insensitive)")
	password := fs.String("password", "", "password (visible to other local users in the process list; prefer --password-stdin)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	name := fs.String("name", "", "the user's name")
	asJSON := fs.Bool("json", false, `print {"user_id": ...}`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *fromStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		*password = strings.TrimRight(line, "\r\n")
	}
	if *slug == "" || *email == "" || *name == "" || *password == "" {
		return fmt.Errorf("%w: --env, --email, --name and a password are required", errUsage)
	}
	pw, err := user.NewPassword(*password, *email)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	mk, err := masterKey(env.cfg) // seals the password hash
	if err != nil {
		return err
	}
	created, err := operations(env, db, mk).CreateUser(ctx, app.CreateUser{Environment: *slug, Email: *email, Name: *name, Password: pw},
		operatorActor("users-create"))
	if err != nil {
		return notFoundAsEnv(err, *slug)
	}
	id := created.UserID
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]string{"user_id": id})
	}
	fmt.Fprintf(env.stdout, "created user %s (%s) in %s\n", id, user.NormalizeEmail(*email), *slug)
	return nil
}
