package dashboard

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/projections/catalog"
)

// clientForm is the Register Application and edit form, and the client pages' data.
type clientForm struct {
	ID, Name, Type, TokenFormat, Secret string
	FirstParty                          bool
	Grants, RedirectURIs, PostLogout    []string
	Scopes                              []string
	Available                           []catalog.Scope
	Client                              catalog.Client
	Created, Rotated                    bool
	// Kind is the application type the form started from ("" for none); Kinds are the
	// types Register Application offers.
	Kind  string
	Kinds []client.Kind
	// Duplicates are the environment's clients that already have the name asked for.
	Duplicates []catalog.Client
	// Quickstart is the client's .env for the examples.
	Quickstart string
	// PreviousValidUntil is when a rotated secret's predecessor stops working.
	PreviousValidUntil string
	// Base names the settings the edit form was made from (clientBase).
	Base string
}

// grantChoices are the grant types the forms offer, with their names.
var grantChoices = [][2]string{{client.GrantAuthorizationCode, "Authorization Code"}, {client.GrantRefreshToken, "Refresh Token"},
	{client.GrantClientCredentials, "Client Credentials"}}

func (d *Dashboard) clientsBase(v *view) string { return "/e/" + v.Env.Slug + "/clients" }

// NewClient serves GET /e/:env/clients/new[?kind=KIND]: the Register Application form. An
// application type (web, spa, native, m2m) presets the client type, grants, an example
// redirect URI and the scopes; without one the form starts confidential with Authorization
// Code, as the published walkthrough expects. A kind that signs users in starts with the
// OpenID Connect scopes and every custom scope ticked (each user still consents); a
// machine-to-machine client with the custom scopes only.
func (d *Dashboard) NewClient(c *fiber.Ctx, v *view) error {
	available := d.Catalog.Scopes(v.Env.Slug)
	f := clientForm{Type: string(client.Confidential), Grants: []string{client.GrantAuthorizationCode},
		Scopes: newClientScopes(available, true)}
	if k, ok := client.KindOf(c.Query("kind")); ok {
		f.Kind, f.Type, f.Grants, f.Scopes = k.Key, string(k.Type), k.Grants, newClientScopes(available, k.UserScopes)
		if k.RedirectURI != "" {
			f.RedirectURIs = []string{k.RedirectURI}
		}
	}
	return d.clientForm(c, v, fiber.StatusOK, f)
}

// newClientScopes are the scopes Register Application ticks: openid, profile and email when
// the app signs users in, and the custom scopes (never the Management API's, which only
// client credentials may hold, and only when chosen).
func newClientScopes(available []catalog.Scope, users bool) []string {
	var out []string
	if users {
		out = []string{"openid", "profile", "email"}
	}
	for _, s := range available {
		if !s.Standard && !oauth.IsManagement(s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

func (d *Dashboard) clientForm(c *fiber.Ctx, v *view, status int, f clientForm) error {
	f.Available = d.Catalog.Scopes(v.Env.Slug)
	f.Kinds = client.Kinds()
	v.Title, v.Section, v.Data = "Register Application", "clients", f
	if f.ID != "" {
		v.Title = "Edit " + f.Name
	}
	return d.render(c, status, "client-form.html", v)
}

// readClientForm reads the form's fields (URIs one per line).
func readClientForm(c *fiber.Ctx) clientForm {
	args := c.Request().PostArgs()
	multi := func(k string) []string {
		var out []string
		for _, b := range args.PeekMulti(k) {
			if s := strings.TrimSpace(string(b)); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	f := clientForm{Name: strings.TrimSpace(c.FormValue("name")), Type: c.FormValue("type"), TokenFormat: c.FormValue("token_format"),
		FirstParty: c.FormValue("first_party") == "on",
		Grants:     multi("grant_types"), Scopes: multi("scopes"),
		RedirectURIs: lines(c.FormValue("redirect_uris")), PostLogout: lines(c.FormValue("post_logout_redirect_uris"))}
	if k, ok := client.KindOf(c.FormValue("kind")); ok {
		f.Kind = k.Key
	}
	return f
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (f clientForm) settings(retry int64) client.Settings {
	return client.Settings{Name: f.Name, GrantTypes: f.Grants, RedirectURIs: f.RedirectURIs, PostLogoutRedirectURIs: f.PostLogout,
		Scopes: f.Scopes, TokenFormat: environment.TokenFormat(f.TokenFormat), RefreshRetryWindow: retry, FirstParty: f.FirstParty}
}

// CreateClient serves POST /e/:env/clients. A name another client of the environment has
// is answered with the form and a warning, until the operator confirms that very name
// (confirm_duplicate) or changes it. A confidential client's secret goes to the page the
// answer redirects to (see flash.go): a reload of that page registers nothing.
func (d *Dashboard) CreateClient(c *fiber.Ctx, v *view) error {
	f := readClientForm(c)
	reg, err := d.App.RegisterClient(c.UserContext(), app.RegisterClient{Environment: v.Env.Slug, Type: client.Type(f.Type),
		Settings: f.settings(0), Grantor: client.OperatorGrantor, RefuseDuplicateName: c.FormValue("confirm_duplicate") != f.Name},
		actor(c, v))
	var dup *app.DuplicateNameError
	switch {
	case errors.As(err, &dup):
		f.Duplicates = dup.Clients
		return d.clientForm(c, v, fiber.StatusConflict, f)
	case err != nil:
		v.Error = d.problem(err)
		return d.clientForm(c, v, fiber.StatusBadRequest, f)
	case reg.Secret == "":
		return done(c, d.clientsBase(v)+"/"+reg.ClientID, okClientSaved)
	}
	if err := d.setSecretFlash(c, v, secretFlash{Client: reg.ClientID, Secret: reg.Secret}); err != nil {
		return err
	}
	return c.Redirect(secretPath(v.Env.Slug, reg.ClientID), fiber.StatusSeeOther)
}
