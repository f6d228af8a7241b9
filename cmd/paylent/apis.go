package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
)

func apisCreateCommand() verb {
	var req app.CreateAPI
	v := newVerb("create --env ENV --identifier URI --name NAME", "register an API (its identifier is the aud of its tokens)",
		func(ctx context.Context, env *cliEnv) error {
			db, err := openDatabase(ctx, env.cfg, env.log)
			if err != nil {
				return err
			}
			defer db.close()
			if _, err := operations(env, db, nil).CreateAPI(ctx, req, operatorActor("apis-create")); err != nil {
				return notFoundAsEnv(err, req.Environment)
			}
			fmt.Fprintf(env.stdout, "created API %q (%s) in %s\nassign scopes to it with: paylent scopes create --env %s --api %s --name NAME --description TEXT\n",
				req.Name, req.Identifier, req.Environment, req.Environment, req.Identifier)
			return nil
		})
	f := v.cmd.Flags()
	f.StringVar(&req.Environment, "env", "", "environment")
	f.StringVar(&req.Identifier, "identifier", "", "the API's identifier, an absolute URI (the aud of its tokens), e.g. https://api.example.com")
	f.StringVar(&req.Name, "name", "", "the API's name")
	required(v.cmd, "env", "identifier", "name")
	return v
}

func apisListCommand() verb {
	var slug string
	var asJSON bool
	v := newVerb("list --env ENV [--json]", "list the APIs and their scopes",
		func(ctx context.Context, env *cliEnv) error { return apisList(ctx, env, slug, asJSON) })
	v.cmd.Flags().StringVar(&slug, "env", "", "environment")
	v.cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	required(v.cmd, "env")
	return v
}

func apisList(ctx context.Context, env *cliEnv, slug string, asJSON bool) error {
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	cat := catalog.New()
	if _, _, err := projections.Replay(ctx, db.store, db.registry, cat); err != nil {
		return err
	}
	type row struct {
		Identifier string   `json:"identifier"`
		Name       string   `json:"name"`
		Scopes     []string `json:"scopes"`
	}
	rows := []row{}
	for _, a := range cat.APIs(slug) {
		r := row{Identifier: a.Identifier, Name: a.Name, Scopes: []string{}}
		for _, s := range cat.Scopes(slug) {
			if s.API == a.Identifier {
				r.Scopes = append(r.Scopes, s.Name)
			}
		}
		rows = append(rows, r)
	}
	if asJSON {
		return json.NewEncoder(env.stdout).Encode(rows)
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "IDENTIFIER\tNAME\tSCOPES")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%v\n", r.Identifier, r.Name, r.Scopes)
	}
	return w.Flush()
}
