package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
)

func tokensRevokeCommand() verb {
	var slug, jti string
	var fromStdin, asJSON bool
	v := newVerb("revoke --env ENV (--jti JTI | --token-stdin) [--json]", "revoke any token (a refresh token ends its grant)",
		func(ctx context.Context, env *cliEnv) error {
			return tokensRevoke(ctx, env, slug, jti, fromStdin, asJSON)
		})
	f := v.cmd.Flags()
	f.StringVar(&slug, "env", "", "environment")
	f.StringVar(&jti, "jti", "", "the token's jti (as the audit log and events show it)")
	f.BoolVar(&fromStdin, "token-stdin", false, "read the token's value from the first line of standard input")
	f.BoolVar(&asJSON, "json", false, `print {"jti": ..., "position": ...}`)
	required(v.cmd, "env")
	v.cmd.MarkFlagsOneRequired("jti", "token-stdin")
	v.cmd.MarkFlagsMutuallyExclusive("jti", "token-stdin")
	return v
}

func tokensRevoke(ctx context.Context, env *cliEnv, slug, jti string, fromStdin, asJSON bool) error {
	value := ""
	if fromStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the token from stdin: %w", err)
		}
		value = strings.TrimSpace(line)
	}
	if (jti == "") == (value == "") {
		return fmt.Errorf("%w: --env and one of --jti and --token-stdin are required", errUsage)
	}
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	ended, err := app.New(app.Options{Loop: db.loop}).RevokeToken(ctx, app.RevokeToken{Environment: slug, Token: value, JTI: jti},
		operatorActor("tokens-revoke"))
	if errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("environment %q has no such token", slug)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]any{"jti": ended.JTI, "position": ended.Position,
			"grants": ended.Grants, "tokens": ended.Tokens})
	}
	fmt.Fprintf(env.stdout, "revoked token %s in %s (grants ended: %d)\n", ended.JTI, slug, ended.Grants)
	return nil
}
