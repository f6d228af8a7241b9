package dashboard

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/projections/catalog"
)

var (
	okClientSaved   = notice("client-saved", "Client saved.")
	okClientDeleted = notice("client-deleted", "Client deleted.")
)

func (d *Dashboard) mountClients(r fiber.Router) {
	r.Get("/clients", page(d.Clients))
	r.Get("/clients/new", page(d.NewClient))
	r.Post("/clients", page(d.CreateClient))
	r.Get("/clients/:id", page(d.Client))
	r.Post("/clients/:id", page(d.UpdateClient))
	r.Post("/clients/:id/secret", page(d.RotateSecret))
	r.Get("/clients/:id/delete", page(d.ConfirmDeleteClient))
	r.Post("/clients/:id/delete", page(d.DeleteClient))
}

// clientForm is the Register Application and edit form.
type clientForm struct {
	ID, Name, Type, TokenFormat, Secret string
	FirstParty                          bool
	Grants, RedirectURIs, PostLogout    []string
	Scopes                              []string
	Available                           []catalog.Scope
	Client                              catalog.Client
	Created, Rotated                    bool
}

// grantChoices are the grant types the forms offer, with their names.
var grantChoices = [][2]string{{client.GrantAuthorizationCode, "Authorization Code"}, {client.GrantRefreshToken, "Refresh Token"},
	{client.GrantClientCredentials, "Client Credentials"}}

func (d *Dashboard) clientsBase(v *view) string { return "/e/" + v.Env.Slug + "/clients" }

// Clients serves GET /e/:env/clients.
func (d *Dashboard) Clients(c *fiber.Ctx, v *view) error {
	v.Title, v.Section, v.Data = "Clients", "clients", d.Catalog.Clients(v.Env.Slug)
	return d.render(c, fiber.StatusOK, "clients.html", v)
}

// NewClient serves GET /e/:env/clients/new: the Register Application form. It starts with
// the OpenID Connect scopes and every custom scope of the environment ticked: an app is
// usually registered to call the environment's APIs, and each user still consents.
func (d *Dashboard) NewClient(c *fiber.Ctx, v *view) error {
	f := clientForm{Type: string(client.Confidential), Grants: []string{client.GrantAuthorizationCode},
		Scopes: newClientScopes(d.Catalog.Scopes(v.Env.Slug))}
	return d.clientForm(c, v, fiber.StatusOK, f)
}

// newClientScopes are the scopes Register Application ticks: openid, profile, email and the
// custom scopes (never the Management API's, which only client credentials may hold).
func newClientScopes(available []catalog.Scope) []string {
	out := []string{"openid", "profile", "email"}
	for _, s := range available {
		if !s.Standard && !oauth.IsManagement(s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

func (d *Dashboard) clientForm(c *fiber.Ctx, v *view, status int, f clientForm) error {
	f.Available = d.Catalog.Scopes(v.Env.Slug)
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
	return clientForm{Name: strings.TrimSpace(c.FormValue("name")), Type: c.FormValue("type"), TokenFormat: c.FormValue("token_format"),
		FirstParty: c.FormValue("first_party") == "on",
		Grants:     multi("grant_types"), Scopes: multi("scopes"),
		RedirectURIs: lines(c.FormValue("redirect_uris")), PostLogout: lines(c.FormValue("post_logout_redirect_uris"))}
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

// CreateClient serves POST /e/:env/clients. A confidential client's secret is on the page
// this answers with, and nowhere else, ever.
func (d *Dashboard) CreateClient(c *fiber.Ctx, v *view) error {
	f := readClientForm(c)
	reg, err := d.App.RegisterClient(c.UserContext(), app.RegisterClient{Environment: v.Env.Slug, Type: client.Type(f.Type),
		Settings: f.settings(0), Grantor: client.OperatorGrantor}, actor(c, v))
	if err != nil {
		v.Error = d.problem(err)
		return d.clientForm(c, v, fiber.StatusBadRequest, f)
	}
	if reg.Secret == "" {
		return done(c, d.clientsBase(v)+"/"+reg.ClientID, okClientSaved)
	}
	d.waitFor(c.UserContext(), reg.Position) //nolint:errcheck // bounded; the page shows what it has
	cl, _ := d.Catalog.Client(v.Env.Slug, reg.ClientID)
	v.Title, v.Section, v.Data = "Application registered", "clients", clientForm{Client: cl, Secret: reg.Secret, Created: true}
	return d.render(c, fiber.StatusCreated, "client-secret.html", v)
}

// Client serves GET /e/:env/clients/:id: the client, its edit form and its actions.
func (d *Dashboard) Client(c *fiber.Ctx, v *view) error {
	cl, ok := d.Catalog.Client(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.message(c, fiber.StatusNotFound, "No such client", "This environment has no client with that id.")
	}
	s := cl.Settings
	f := clientForm{ID: cl.ID, Name: s.Name, Type: string(cl.Type), TokenFormat: string(s.TokenFormat), Grants: s.GrantTypes,
		RedirectURIs: s.RedirectURIs, PostLogout: s.PostLogoutRedirectURIs, Scopes: s.Scopes, FirstParty: s.FirstParty, Client: cl}
	f.Available = d.Catalog.Scopes(v.Env.Slug)
	v.Title, v.Section, v.Data = s.Name, "clients", f
	return d.render(c, fiber.StatusOK, "client.html", v)
}

// UpdateClient serves POST /e/:env/clients/:id: the settings are replaced.
func (d *Dashboard) UpdateClient(c *fiber.Ctx, v *view) error {
	cl, ok := d.Catalog.Client(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.message(c, fiber.StatusNotFound, "No such client", "This environment has no client with that id.")
	}
	f := readClientForm(c)
	f.ID, f.Type, f.Client = cl.ID, string(cl.Type), cl
	_, err := d.App.UpdateClient(c.UserContext(), app.UpdateClient{Environment: v.Env.Slug, ClientID: cl.ID, Grantor: client.OperatorGrantor,
		Settings: f.settings(cl.Settings.RefreshRetryWindow)}, actor(c, v))
	if err != nil {
		v.Error = d.problem(err)
		f.Available = d.Catalog.Scopes(v.Env.Slug)
		v.Title, v.Section, v.Data = cl.Settings.Name, "clients", f
		return d.render(c, fiber.StatusBadRequest, "client.html", v)
	}
	return done(c, d.clientsBase(v)+"/"+url.PathEscape(cl.ID), okClientSaved)
}

// RotateSecret serves POST /e/:env/clients/:id/secret: a new secret, shown once; the old
// one keeps working for the grace period chosen (none by default).
func (d *Dashboard) RotateSecret(c *fiber.Ctx, v *view) error {
	cl, ok := d.Catalog.Client(v.Env.Slug, c.Params("id"))
	if !ok || cl.Type != client.Confidential {
		return d.message(c, fiber.StatusNotFound, "No such client", "This environment has no confidential client with that id.")
	}
	grace := time.Duration(0)
	switch c.FormValue("grace") {
	case "1h":
		grace = time.Hour
	case "24h":
		grace = 24 * time.Hour
	}
	rot, err := d.App.RotateClientSecret(c.UserContext(), app.RotateClientSecret{Environment: v.Env.Slug, ClientID: cl.ID, Grace: grace,
		Grantor: client.OperatorGrantor}, actor(c, v))
	if err != nil {
		v.Error = d.problem(err)
		return d.Client(c, v)
	}
	d.waitFor(c.UserContext(), rot.Position) //nolint:errcheck // bounded
	v.Title, v.Section, v.Data = "New client secret", "clients", clientForm{Client: cl, Secret: rot.Secret, Rotated: true}
	return d.render(c, fiber.StatusOK, "client-secret.html", v)
}

// ConfirmDeleteClient serves GET /e/:env/clients/:id/delete: deleting asks first.
func (d *Dashboard) ConfirmDeleteClient(c *fiber.Ctx, v *view) error {
	cl, ok := d.Catalog.Client(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.message(c, fiber.StatusNotFound, "No such client", "This environment has no client with that id.")
	}
	v.Title, v.Section, v.Data = "Delete "+cl.Settings.Name, "clients", clientForm{Client: cl}
	return d.render(c, fiber.StatusOK, "client-delete.html", v)
}

// DeleteClient serves POST /e/:env/clients/:id/delete.
func (d *Dashboard) DeleteClient(c *fiber.Ctx, v *view) error {
	_, err := d.App.DeleteClient(c.UserContext(), app.ClientRef{Environment: v.Env.Slug, ClientID: c.Params("id"), By: client.OperatorGrantor}, actor(c, v))
	if err != nil {
		return d.message(c, fiber.StatusBadRequest, "Not deleted", d.problem(err))
	}
	return done(c, d.clientsBase(v), okClientDeleted)
}
