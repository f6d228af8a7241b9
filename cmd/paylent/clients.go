package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/spf13/cobra"
)

// clientView is a client as the CLI prints it: the Management API's fields, never a secret
// or its hash.
type clientView struct {
	ID                     string   `json:"client_id"`
	Name                   string   `json:"name"`
	Type                   string   `json:"type"`
	GrantTypes             []string `json:"grant_types"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Scopes                 []string `json:"scopes"`
	TokenFormat            string   `json:"token_format,omitempty"`
	RefreshRetryWindow     int64    `json:"refresh_retry_window"`
	FirstParty             bool     `json:"first_party"`
	CreatedAt              string   `json:"created_at"`
	UpdatedAt              string   `json:"updated_at"`
}

func viewClient(cl catalog.Client) clientView {
	s := cl.Settings
	return clientView{ID: cl.ID, Name: s.Name, Type: string(cl.Type), GrantTypes: nonNil(s.GrantTypes),
		RedirectURIs: nonNil(s.RedirectURIs), PostLogoutRedirectURIs: nonNil(s.PostLogoutRedirectURIs), Scopes: nonNil(s.Scopes),
		TokenFormat: string(s.TokenFormat), RefreshRetryWindow: s.RefreshRetryWindow, FirstParty: s.FirstParty,
		CreatedAt: stamp(cl.CreatedAt), UpdatedAt: stamp(cl.UpdatedAt)}
}

func (v clientView) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	format := v.TokenFormat
	if format == "" {
		format = "(the environment's)"
	}
	for _, row := range [][2]string{{"client_id", v.ID}, {"name", v.Name}, {"type", v.Type},
		{"grant_types", strings.Join(v.GrantTypes, " ")}, {"redirect_uris", strings.Join(v.RedirectURIs, " ")},
		{"post_logout_redirect_uris", strings.Join(v.PostLogoutRedirectURIs, " ")}, {"scopes", strings.Join(v.Scopes, " ")},
		{"token_format", format}, {"refresh_retry_window", fmt.Sprintf("%ds", v.RefreshRetryWindow)},
		{"first_party", fmt.Sprint(v.FirstParty)}, {"created_at", v.CreatedAt}, {"updated_at", v.UpdatedAt}} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// printJSON prints v as one line of JSON.
func printJSON(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

func clientsListCommand() verb {
	var slug string
	var asJSON bool
	v := newVerb("list --env ENV [--json]", "list an environment's clients",
		func(ctx context.Context, env *cliEnv) error {
			s, err := openSession(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.close()
			if err := s.environment(ctx, slug); err != nil {
				return err
			}
			views := []clientView{}
			for _, cl := range s.catalog.Clients(slug) {
				views = append(views, viewClient(cl))
			}
			if asJSON {
				return printJSON(env.stdout, views)
			}
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT_ID\tTYPE\tNAME\tGRANTS")
			for _, c := range views {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Type, c.Name, strings.Join(c.GrantTypes, ","))
			}
			return tw.Flush()
		})
	envFlag(v.cmd, &slug)
	jsonFlag(v.cmd, &asJSON)
	return v
}

func clientsGetCommand() verb {
	var slug, id string
	var asJSON bool
	v := newVerb("get --env ENV --id CLIENT_ID [--json]", "show a client (never its secret)",
		func(ctx context.Context, env *cliEnv) error {
			s, err := openSession(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.close()
			cl, err := s.client(ctx, slug, id)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(env.stdout, viewClient(cl))
			}
			return viewClient(cl).print(env.stdout)
		})
	envFlag(v.cmd, &slug)
	idFlag(v.cmd, &id, "the client's id")
	jsonFlag(v.cmd, &asJSON)
	return v
}

// client reads a client at the log's head; not found names the client and the environment.
func (s *cliSession) client(ctx context.Context, slug, id string) (catalog.Client, error) {
	if err := s.environment(ctx, slug); err != nil {
		return catalog.Client{}, err
	}
	cl, ok := s.catalog.Client(slug, id)
	if !ok {
		return catalog.Client{}, fmt.Errorf("no client %q in environment %q", id, slug)
	}
	return cl, nil
}

func clientsUpdateCommand() verb {
	var slug, id, format string
	var set client.Settings
	var asJSON bool
	v := newVerb("update --env ENV --id CLIENT_ID [--name NAME] [--grant GRANT]... [--redirect-uri URI]... "+
		"[--scope SCOPE]... [--token-format jwt|opaque] [--first-party=BOOL] [--json]",
		"change a client's settings (a list flag replaces the list; give it \"\" for none)", nil)
	v.run = func(ctx context.Context, env *cliEnv) error {
		s, err := openSession(ctx, env, false)
		if err != nil {
			return err
		}
		defer s.close()
		cl, err := s.client(ctx, slug, id)
		if err != nil {
			return err
		}
		next := mergeSettings(v.cmd, cl.Settings, set, format)
		// Only the flags given change: the rest is what was read, and if the client changed
		// since, nothing is written rather than undoing that change.
		res, err := s.ops.UpdateClient(ctx, app.UpdateClient{Environment: slug, ClientID: id, Settings: next,
			Grantor: client.OperatorGrantor, Expected: &cl.Settings}, operatorActor("clients-update"))
		if errors.Is(err, client.ErrChanged) {
			return fmt.Errorf("client %q changed while it was being updated; nothing was written, run the command again", id)
		}
		if err != nil {
			return s.notFound(err, slug, fmt.Sprintf("client %q", id))
		}
		if err := s.ops.AfterWrite(ctx, res.Position, s.runtimes[0]); err != nil {
			return err
		}
		cl, _ = s.catalog.Client(slug, id)
		if asJSON {
			return printJSON(env.stdout, viewClient(cl))
		}
		fmt.Fprintf(env.stdout, "updated client %s in %s\n", id, slug)
		return viewClient(cl).print(env.stdout)
	}
	envFlag(v.cmd, &slug)
	idFlag(v.cmd, &id, "the client's id")
	clientSettingsFlags(v.cmd, &set, &format)
	jsonFlag(v.cmd, &asJSON)
	return v
}

// mergeSettings is cur with the settings whose flags were given; a list flag replaces the
// list (its "" values dropped, so `--scope ""` leaves none).
func mergeSettings(cmd *cobra.Command, cur, given client.Settings, format string) client.Settings {
	next := cur
	set := cmd.Flags().Changed
	list := func(v []string) []string {
		return slices.DeleteFunc(slices.Clone(v), func(s string) bool { return s == "" })
	}
	if set("name") {
		next.Name = given.Name
	}
	if set("grant") {
		next.GrantTypes = list(given.GrantTypes)
	}
	if set("redirect-uri") {
		next.RedirectURIs = list(given.RedirectURIs)
	}
	if set("post-logout-redirect-uri") {
		next.PostLogoutRedirectURIs = list(given.PostLogoutRedirectURIs)
	}
	if set("scope") {
		next.Scopes = list(given.Scopes)
	}
	if set("token-format") {
		next.TokenFormat = environment.TokenFormat(format)
	}
	if set("refresh-retry-window") {
		next.RefreshRetryWindow = given.RefreshRetryWindow
	}
	if set("first-party") {
		next.FirstParty = given.FirstParty
	}
	return next
}

func clientsDeleteCommand() verb {
	var slug, id string
	var asJSON bool
	v := newVerb("delete --env ENV --id CLIENT_ID [--json]",
		"delete a client and revoke every grant and token issued to it (asks nothing)",
		func(ctx context.Context, env *cliEnv) error {
			s, err := openSession(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.close()
			cl, err := s.client(ctx, slug, id)
			if err != nil {
				return err
			}
			ended, err := s.ops.DeleteClient(ctx, app.ClientRef{Environment: slug, ClientID: id, By: client.OperatorGrantor},
				operatorActor("clients-delete"))
			if err != nil {
				return s.notFound(err, slug, fmt.Sprintf("client %q", id))
			}
			if asJSON {
				return printJSON(env.stdout, map[string]any{"client_id": id, "name": cl.Settings.Name, "deleted": true,
					"position": ended.Position, "grants_revoked": ended.Grants, "tokens_revoked": ended.Tokens})
			}
			fmt.Fprintf(env.stdout, "deleted client %s (%q) in %s: %d grants and %d tokens revoked\n",
				id, cl.Settings.Name, slug, ended.Grants, ended.Tokens)
			return nil
		})
	envFlag(v.cmd, &slug)
	idFlag(v.cmd, &id, "the client's id")
	jsonFlag(v.cmd, &asJSON)
	return v
}

// envFlag is the required --env of a command.
func envFlag(cmd *cobra.Command, slug *string) {
	cmd.Flags().StringVar(slug, "env", "", "environment")
	required(cmd, "env")
}

// idFlag is a command's required --id.
func idFlag(cmd *cobra.Command, id *string, usage string) {
	cmd.Flags().StringVar(id, "id", "", usage)
	required(cmd, "id")
}

func jsonFlag(cmd *cobra.Command, asJSON *bool) {
	cmd.Flags().BoolVar(asJSON, "json", false, "print the result as JSON")
}
