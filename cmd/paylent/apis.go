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

func apisCreateCommand(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "apis create", "apis create --env ENV --identifier URI --name NAME")
	slug := fs.String("env", "", "environment")
	id := fs.String("identifier", "", "the API's identifier, an absolute URI (the aud of its tokens), e.g. https://api.example.com")
	name := fs.String("name", "", "the API's name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *slug == "" || *id == "" || *name == "" {
		return fmt.Errorf("%w: --env, --identifier and --name are required", errUsage)
	}
	db, err := openDatabase(ctx, env.cfg, env.log)
	if err != nil {
		return err
	}
	defer db.close()
	if _, err := operations(env, db, nil).CreateAPI(ctx, app.CreateAPI{Environment: *slug, Identifier: *id, Name: *name},
		operatorActor("apis-create")); err != nil {
		return notFoundAsEnv(err, *slug)
	}
	fmt.Fprintf(env.stdout, "created API %q (%s) in %s\nassign scopes to it with: paylent scopes create --env %s --api %s --name NAME --description TEXT\n",
		*name, *id, *slug, *slug, *id)
	return nil
}

func apisListCommand(ctx context.Context, env *cliEnv, args []string) error {
	fs := flags(env, "apis list", "apis list --env ENV [--json]")
	slug := fs.String("env", "", "environment")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *slug == "" {
		return fmt.Errorf("%w: --env is required", errUsage)
	}
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
	for _, a := range cat.APIs(*slug) {
		r := row{Identifier: a.Identifier, Name: a.Name, Scopes: []string{}}
		for _, s := range cat.Scopes(*slug) {
			if s.API == a.Identifier {
				r.Scopes = append(r.Scopes, s.Name)
			}
		}
		rows = append(rows, r)
	}
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(rows)
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "IDENTIFIER\tNAME\tSCOPES")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%v\n", r.Identifier, r.Name, r.Scopes)
	}
	return w.Flush()
}
