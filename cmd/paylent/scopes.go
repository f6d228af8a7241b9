package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/projections/catalog"
)

// scopeView is a scope as the CLI prints it (the Management API's fields).
type scopeView struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Standard    bool   `json:"standard"`
	API         string `json:"api,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
}

func viewScope(s catalog.Scope) scopeView {
	return scopeView{Name: s.Name, Description: s.Description, Standard: s.Standard, API: s.API, CreatedAt: stamp(s.CreatedAt)}
}

func (v scopeView) print(w io.Writer) error {
	api := v.API
	if api == "" {
		api = "-"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "name:\t%s\ndescription:\t%s\nstandard:\t%v\napi:\t%s\n", v.Name, v.Description, v.Standard, api)
	if v.CreatedAt != "" {
		fmt.Fprintf(tw, "created_at:\t%s\n", v.CreatedAt)
	}
	return tw.Flush()
}

func scopesListCommand() verb {
	var slug string
	var asJSON bool
	v := newVerb("list --env ENV [--json]", "list an environment's scopes (standard ones first)",
		func(ctx context.Context, env *cliEnv) error {
			s, err := openSession(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.close()
			if err := s.environment(ctx, slug); err != nil {
				return err
			}
			views := []scopeView{}
			for _, sc := range s.catalog.Scopes(slug) {
				views = append(views, viewScope(sc))
			}
			if asJSON {
				return printJSON(env.stdout, views)
			}
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTANDARD\tAPI\tDESCRIPTION")
			for _, sc := range views {
				api := sc.API
				if api == "" {
					api = "-"
				}
				fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", sc.Name, sc.Standard, api, sc.Description)
			}
			return tw.Flush()
		})
	envFlag(v.cmd, &slug)
	jsonFlag(v.cmd, &asJSON)
	return v
}

// scope reads a scope at the log's head; not found names it and the environment.
func (s *cliSession) scope(ctx context.Context, slug, name string) (catalog.Scope, error) {
	if err := s.environment(ctx, slug); err != nil {
		return catalog.Scope{}, err
	}
	sc, ok := s.catalog.Scope(slug, name)
	if !ok {
		return catalog.Scope{}, fmt.Errorf("no scope %q in environment %q", name, slug)
	}
	return sc, nil
}

func scopesGetCommand() verb {
	var slug, name string
	var asJSON bool
	v := newVerb("get --env ENV --name NAME [--json]", "show a scope",
		func(ctx context.Context, env *cliEnv) error {
			s, err := openSession(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.close()
			sc, err := s.scope(ctx, slug, name)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(env.stdout, viewScope(sc))
			}
			return viewScope(sc).print(env.stdout)
		})
	envFlag(v.cmd, &slug)
	v.cmd.Flags().StringVar(&name, "name", "", "the scope's name")
	required(v.cmd, "name")
	jsonFlag(v.cmd, &asJSON)
	return v
}

func scopesUpdateCommand() verb {
	var slug, name, desc, api string
	var asJSON bool
	v := newVerb("update --env ENV --name NAME [--description TEXT] [--api IDENTIFIER] [--json]",
		"change a custom scope's description or API (--api \"\" takes it out of its API)", nil)
	v.run = func(ctx context.Context, env *cliEnv) error {
		s, err := openSession(ctx, env, false)
		if err != nil {
			return err
		}
		defer s.close()
		if _, err := s.scope(ctx, slug, name); err != nil {
			return err
		}
		req := app.UpdateScope{Environment: slug, Name: name}
		if v.cmd.Flags().Changed("description") {
			req.Description = &desc
		}
		if v.cmd.Flags().Changed("api") {
			req.API = &api
		}
		res, err := s.ops.UpdateScope(ctx, req, operatorActor("scopes-update"))
		if err != nil {
			return s.notFound(err, slug, fmt.Sprintf("scope %q", name))
		}
		if err := s.ops.AfterWrite(ctx, res.Position, s.runtimes[0]); err != nil {
			return err
		}
		sc, _ := s.catalog.Scope(slug, name)
		if asJSON {
			return printJSON(env.stdout, viewScope(sc))
		}
		if res.Position == 0 {
			fmt.Fprintf(env.stdout, "scope %s in %s is unchanged\n", name, slug)
		} else {
			fmt.Fprintf(env.stdout, "updated scope %s in %s\n", name, slug)
		}
		return viewScope(sc).print(env.stdout)
	}
	envFlag(v.cmd, &slug)
	f := v.cmd.Flags()
	f.StringVar(&name, "name", "", "the scope's name (it never changes)")
	f.StringVar(&desc, "description", "", "what the scope allows, as the consent page shows it")
	f.StringVar(&api, "api", "", `identifier of the API the scope belongs to ("" for none)`)
	required(v.cmd, "name")
	v.cmd.MarkFlagsOneRequired("description", "api")
	jsonFlag(v.cmd, &asJSON)
	return v
}

func scopesDeleteCommand() verb {
	var slug, name string
	var asJSON bool
	v := newVerb("delete --env ENV --name NAME [--json]", "delete a custom scope (asks nothing)",
		func(ctx context.Context, env *cliEnv) error {
			s, err := openSession(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.close()
			sc, err := s.scope(ctx, slug, name)
			if err != nil {
				return err
			}
			res, err := s.ops.DeleteScope(ctx, app.ScopeRef{Environment: slug, Name: name}, operatorActor("scopes-delete"))
			if err != nil {
				return s.notFound(err, slug, fmt.Sprintf("scope %q", name))
			}
			if asJSON {
				return printJSON(env.stdout, map[string]any{"name": name, "description": sc.Description, "api": sc.API,
					"deleted": true, "position": res.Position})
			}
			fmt.Fprintf(env.stdout, "deleted scope %s (%q) in %s\n", name, sc.Description, slug)
			return nil
		})
	envFlag(v.cmd, &slug)
	v.cmd.Flags().StringVar(&name, "name", "", "the scope's name")
	required(v.cmd, "name")
	jsonFlag(v.cmd, &asJSON)
	return v
}
