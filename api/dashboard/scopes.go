package dashboard

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/scope"
	"github.com/paylent/paylent/projections/catalog"
)

var (
	okScopeCreated = notice("scope-created", "Scope created.")
	okScopeDeleted = notice("scope-deleted", "Scope deleted.")
)

func (d *Dashboard) mountScopes(r fiber.Router) {
	r.Get("/scopes", page(d.Scopes))
	r.Get("/scopes/new", page(d.NewScope))
	r.Post("/scopes", page(d.CreateScope))
	r.Get("/scopes/:name/delete", page(d.ConfirmDeleteScope))
	r.Post("/scopes/:name/delete", page(d.DeleteScope))
}

// scopeRow is a scope as the list shows it, with the path of its delete page (a scope's
// name may hold "/", so the path escapes it).
type scopeRow struct {
	catalog.Scope
	APIName    string
	DeletePath string
}

// scopeForm is the Create Scope form, and the delete confirmation's scope.
type scopeForm struct {
	Name, Description, API string
	APIs                   []catalog.API
	Scope                  scopeRow
	UsedBy                 []catalog.Client
	// Clients are the environment's clients the form offers to allow the new scope; Allow
	// the ids ticked (at first: those that sign users in, who each still consent).
	Clients []catalog.Client
	Allow   []string
}

// scopesPage is the Scopes page: the scopes, and the APIs they may belong to.
type scopesPage struct {
	Scopes []scopeRow
	APIs   []catalog.API
	API    apiForm
}

func scopesBase(v *view) string { return "/e/" + v.Env.Slug + "/scopes" }

// Scopes serves GET /e/:env/scopes: the standard scopes, then the custom ones.
func (d *Dashboard) Scopes(c *fiber.Ctx, v *view) error {
	d.scopesPage(v, apiForm{Identifier: "https://"})
	return d.render(c, fiber.StatusOK, "scopes.html", v)
}

// scopesPage fills the Scopes page's view; api is what the Register API form shows.
func (d *Dashboard) scopesPage(v *view, api apiForm) {
	list := d.Catalog.Scopes(v.Env.Slug)
	rows := make([]scopeRow, 0, len(list))
	for _, s := range list {
		rows = append(rows, d.scopeRow(v, s))
	}
	v.Title, v.Section, v.Data = "Scopes", "scopes", scopesPage{Scopes: rows, APIs: d.Catalog.APIs(v.Env.Slug), API: api}
}

func (d *Dashboard) scopeRow(v *view, s catalog.Scope) scopeRow {
	r := scopeRow{Scope: s, DeletePath: scopesBase(v) + "/" + url.PathEscape(s.Name) + "/delete"}
	if s.API != "" {
		r.APIName = s.API
		if a, ok := d.Catalog.API(v.Env.Slug, s.API); ok && a.Name != "" {
			r.APIName = a.Name
		}
	}
	return r
}

// NewScope serves GET /e/:env/scopes/new: the Create Scope form.
func (d *Dashboard) NewScope(c *fiber.Ctx, v *view) error {
	var allow []string
	for _, cl := range d.Catalog.Clients(v.Env.Slug) {
		if cl.Settings.Allows(client.GrantAuthorizationCode) {
			allow = append(allow, cl.ID)
		}
	}
	return d.scopeForm(c, v, fiber.StatusOK, scopeForm{Allow: allow})
}

func (d *Dashboard) scopeForm(c *fiber.Ctx, v *view, status int, f scopeForm) error {
	f.APIs, f.Clients = d.Catalog.APIs(v.Env.Slug), d.Catalog.Clients(v.Env.Slug)
	v.Title, v.Section, v.Data = "Create Scope", "scopes", f
	return d.render(c, status, "scope-form.html", v)
}

// CreateScope serves POST /e/:env/scopes.
func (d *Dashboard) CreateScope(c *fiber.Ctx, v *view) error {
	f := scopeForm{Name: strings.Clone(strings.TrimSpace(c.FormValue("name"))),
		Description: strings.Clone(strings.TrimSpace(c.FormValue("description"))), API: strings.Clone(c.FormValue("api"))}
	for _, b := range c.Request().PostArgs().PeekMulti("clients") {
		f.Allow = append(f.Allow, string(b))
	}
	_, err := d.App.CreateScope(c.UserContext(), app.CreateScope{Environment: v.Env.Slug, Name: f.Name, Description: f.Description, API: f.API}, actor(c, v))
	if err != nil {
		v.Error = d.problem(err)
		if errors.Is(err, scope.ErrExists) {
			v.Error = "name: this environment already has a scope called " + f.Name + "."
		}
		return d.scopeForm(c, v, fiber.StatusBadRequest, f)
	}
	if failed := d.allowScope(c, v, f.Name, f.Allow); len(failed) > 0 {
		return d.message(c, fiber.StatusBadRequest, "Scope created, not allowed everywhere",
			"The scope "+f.Name+" was created, but could not be allowed for: "+strings.Join(failed, "; ")+". Add it on the client's page.")
	}
	return done(c, scopesBase(v), okScopeCreated)
}

// allowScope adds a new scope to the allowed scopes of the clients ticked on the Create Scope
// form, and returns what failed ("name: why").
func (d *Dashboard) allowScope(c *fiber.Ctx, v *view, name string, clientIDs []string) []string {
	var failed []string
	for _, id := range clientIDs {
		if err := d.addClientScope(c, v, id, name); err != nil {
			failed = append(failed, err.Error())
		}
	}
	return failed
}

// addClientScope adds name to a client's scopes and keeps the rest as they are: the update
// is written only over the settings it was made from (app.UpdateClient.Expected), so that a
// change made meanwhile (a scope taken away) is never written back; it is read again then.
func (d *Dashboard) addClientScope(c *fiber.Ctx, v *view, id, name string) error {
	for attempt := 1; ; attempt++ {
		cl, ok := d.Catalog.Client(v.Env.Slug, id)
		if !ok {
			return errors.New(id + ": no such client")
		}
		if slices.Contains(cl.Settings.Scopes, name) {
			return nil
		}
		settings := cl.Settings
		settings.Scopes = append(slices.Clone(settings.Scopes), name)
		_, err := d.App.UpdateClient(c.UserContext(), app.UpdateClient{Environment: v.Env.Slug, ClientID: id, Settings: settings,
			Grantor: client.OperatorGrantor, Expected: &cl.Settings}, actor(c, v))
		if errors.Is(err, client.ErrChanged) && attempt < 5 {
			d.fresh(c)
			continue
		}
		if err != nil {
			return errors.New(cl.Settings.Name + ": " + d.problem(err))
		}
		return nil
	}
}

// customScope finds the custom scope named by the path; standard scopes and unknown names
// answer with a page that says why there is nothing to delete.
func (d *Dashboard) customScope(c *fiber.Ctx, v *view) (catalog.Scope, bool, error) {
	name, err := url.PathUnescape(c.Params("name"))
	if err != nil {
		return catalog.Scope{}, false, d.message(c, fiber.StatusNotFound, "No such scope", "This environment has no scope with that name.")
	}
	if oauth.IsStandard(name) {
		return catalog.Scope{}, false, d.message(c, fiber.StatusBadRequest, "Standard scope",
			"The scope "+name+" is a standard OpenID Connect scope: every environment has it, and it cannot be deleted.")
	}
	s, ok := d.Catalog.Scope(v.Env.Slug, name)
	if !ok {
		return catalog.Scope{}, false, d.message(c, fiber.StatusNotFound, "No such scope", "This environment has no scope with that name.")
	}
	return s, true, nil
}

// ConfirmDeleteScope serves GET /e/:env/scopes/:name/delete: deleting asks first, and says
// which clients still allow the scope.
func (d *Dashboard) ConfirmDeleteScope(c *fiber.Ctx, v *view) error {
	s, ok, err := d.customScope(c, v)
	if !ok {
		return err
	}
	f := scopeForm{Scope: d.scopeRow(v, s)}
	for _, cl := range d.Catalog.Clients(v.Env.Slug) {
		if slices.Contains(cl.Settings.Scopes, s.Name) {
			f.UsedBy = append(f.UsedBy, cl)
		}
	}
	v.Title, v.Section, v.Data = "Delete "+s.Name, "scopes", f
	return d.render(c, fiber.StatusOK, "scope-delete.html", v)
}

// DeleteScope serves POST /e/:env/scopes/:name/delete (the domain refuses standard scopes).
func (d *Dashboard) DeleteScope(c *fiber.Ctx, v *view) error {
	s, ok, err := d.customScope(c, v)
	if !ok {
		return err
	}
	_, err = d.App.DeleteScope(c.UserContext(), app.ScopeRef{Environment: v.Env.Slug, Name: s.Name}, actor(c, v))
	if err != nil {
		return d.message(c, fiber.StatusBadRequest, "Not deleted", d.problem(err))
	}
	return done(c, scopesBase(v), okScopeDeleted)
}
