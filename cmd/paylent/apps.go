package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/user"
	"github.com/spf13/cobra"
)

func clientsCreateCommand() verb {
	var slug, typ string
	var set client.Settings
	var format string
	var asJSON bool
	v := newVerb("create --env ENV --name NAME --type confidential|public --grant GRANT... [--redirect-uri URI]... "+
		"[--scope SCOPE]... [--token-format jwt|opaque] [--first-party] [--json]", "register a client",
		func(ctx context.Context, env *cliEnv) error {
			set.TokenFormat = environment.TokenFormat(format)
			return clientsCreate(ctx, env, slug, client.Type(typ), set, asJSON)
		})
	f := v.cmd.Flags()
	f.StringVar(&slug, "env", "", "environment")
	f.StringVar(&typ, "type", "", "confidential (server-side, has a secret) or public (SPA, mobile, CLI: PKCE)")
	f.BoolVar(&asJSON, "json", false, `print {"client_id": ..., "client_secret": ...}`)
	clientSettingsFlags(v.cmd, &set, &format)
	required(v.cmd, "env", "name", "type", "grant")
	completeWith(v.cmd, "type", string(client.Confidential), string(client.Public))
	return v
}

// clientSettingsFlags binds the flags of a client's settings (create and update).
func clientSettingsFlags(cmd *cobra.Command, set *client.Settings, format *string) {
	f := cmd.Flags()
	f.StringVar(&set.Name, "name", "", "the application's name, shown on the consent page")
	f.StringVar(format, "token-format", "", "access token format: jwt or opaque (default: the environment's)")
	f.Int64Var(&set.RefreshRetryWindow, "refresh-retry-window", 0, "seconds within which a just-rotated refresh token may be presented again")
	f.BoolVar(&set.FirstParty, "first-party", false, "your own application: users are not asked for consent (confidential clients only)")
	f.StringArrayVar(&set.PostLogoutRedirectURIs, "post-logout-redirect-uri", nil, "where RP-initiated logout may return (repeatable)")
	f.StringArrayVar(&set.GrantTypes, "grant", nil, "allowed grant type: authorization_code, client_credentials, refresh_token (repeatable)")
	f.StringArrayVar(&set.RedirectURIs, "redirect-uri", nil, "allowed redirect URI, matched exactly (repeatable)")
	f.StringArrayVar(&set.Scopes, "scope", nil, "allowed scope (repeatable)")
	completeWith(cmd, "grant", client.GrantAuthorizationCode, client.GrantClientCredentials, client.GrantRefreshToken)
	completeWith(cmd, "token-format", string(environment.TokenJWT), string(environment.TokenOpaque))
}

func clientsCreate(ctx context.Context, env *cliEnv, slug string, typ client.Type, set client.Settings, asJSON bool) error {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	reg, err := operations(env, db, nil).RegisterClient(ctx, app.RegisterClient{Environment: slug, Type: typ,
		Grantor: client.OperatorGrantor, Settings: set}, operatorActor("clients-create"))
	if err != nil {
		return notFoundAsEnv(err, slug)
	}
	id, sec := reg.ClientID, reg.Secret
	if asJSON {
		out := map[string]string{"client_id": id}
		if sec != "" {
			out["client_secret"] = sec
		}
		return json.NewEncoder(env.stdout).Encode(out)
	}
	fmt.Fprintf(env.stdout, "registered client %q in %s\n  client_id:     %s\n", set.Name, slug, id)
	if sec != "" {
		fmt.Fprintf(env.stdout, "  client_secret: %s\n  (shown once: Paylent keeps only its hash)\n", sec)
	}
	return nil
}

func scopesCreateCommand() verb {
	var req app.CreateScope
	v := newVerb("create --env ENV --name NAME --description TEXT [--api IDENTIFIER]", "create a custom scope",
		func(ctx context.Context, env *cliEnv) error {
			db, err := openDatabase(ctx, env.cfg, env.log)
			if err != nil {
				return err
			}
			defer db.close()
			if _, err := operations(env, db, nil).CreateScope(ctx, req, operatorActor("scopes-create")); err != nil {
				return notFoundAsEnv(err, req.Environment)
			}
			fmt.Fprintf(env.stdout, "created scope %s in %s\n", req.Name, req.Environment)
			return nil
		})
	f := v.cmd.Flags()
	f.StringVar(&req.Environment, "env", "", "environment")
	f.StringVar(&req.Name, "name", "", "scope name, e.g. read:documents")
	f.StringVar(&req.Description, "description", "", "what the scope allows, as the consent page shows it")
	f.StringVar(&req.API, "api", "", "identifier of the API the scope belongs to (tokens with it name that API in aud)")
	required(v.cmd, "env", "name", "description")
	return v
}

func usersCreateCommand() verb {
	var slug, email, password, name string
	var fromStdin, asJSON bool
	v := newVerb("create --env ENV --email EMAIL (--password PASSWORD | --password-stdin) --name NAME [--json]", "create a user",
		func(ctx context.Context, env *cliEnv) error {
			if fromStdin {
				line, err := readPasswordLine(env.stdin)
				if err != nil {
					return err
				}
				password = line
			}
			if password == "" {
				return fmt.Errorf("%w: a password is required (--password or --password-stdin)", errUsage)
			}
			return usersCreate(ctx, env, slug, email, password, name, asJSON)
		})
	f := v.cmd.Flags()
	f.StringVar(&slug, "env", "", "environment")
	f.StringVar(&email, "email", "", "email address (unique in the environment, case-insensitive)")
	f.StringVar(&password, "password", "", "password (visible to other local users in the process list; prefer --password-stdin)")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringVar(&name, "name", "", "the user's name")
	f.BoolVar(&asJSON, "json", false, `print {"user_id": ...}`)
	required(v.cmd, "env", "email", "name")
	v.cmd.MarkFlagsOneRequired("password", "password-stdin")
	v.cmd.MarkFlagsMutuallyExclusive("password", "password-stdin")
	return v
}

func usersCreate(ctx context.Context, env *cliEnv, slug, email, password, name string, asJSON bool) error {
	pw, err := user.NewPassword(password, email)
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
	created, err := operations(env, db, mk).CreateUser(ctx, app.CreateUser{Environment: slug, Email: email, Name: name, Password: pw},
		operatorActor("users-create"))
	if err != nil {
		return notFoundAsEnv(err, slug)
	}
	id := created.UserID
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]string{"user_id": id})
	}
	fmt.Fprintf(env.stdout, "created user %s (%s) in %s\n", id, user.NormalizeEmail(email), slug)
	return nil
}
