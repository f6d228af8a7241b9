package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/projections/catalog"
)

var (
	okClientSaved   = notice("client-saved", "Client saved.")
	okClientDeleted = notice("client-deleted", "Client deleted.")
)

// clientChanged is what the edit form says when the client changed after it was opened.
const clientChanged = "This client was changed by someone else after you opened this page; nothing was saved. " +
	"Its current settings are below: make your change again."

// clientBase names the settings an edit form was made from (the form sends it back).
func clientBase(s client.Settings) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %q %q %q %d %t", s.Name, s.GrantTypes, s.RedirectURIs,
		s.PostLogoutRedirectURIs, s.Scopes, s.TokenFormat, s.RefreshRetryWindow, s.FirstParty))
	return hex.EncodeToString(sum[:16])
}

// secretShownOnce is what the secret page says once its secret has been shown.
const secretShownOnce = "This client's secret was shown once, when it was made; Paylent keeps only a hash of it. " +
	"Rotate the secret below to get a new one."

func (d *Dashboard) mountClients(r fiber.Router) {
	r.Get("/clients", page(d.Clients))
	r.Get("/clients/new", page(d.NewClient))
	r.Post("/clients", page(d.CreateClient))
	r.Get("/clients/:id", page(d.Client))
	r.Post("/clients/:id", page(d.UpdateClient))
	r.Get("/clients/:id/secret", page(d.ShowSecret))
	r.Post("/clients/:id/secret", page(d.RotateSecret))
	r.Get("/clients/:id/delete", page(d.ConfirmDeleteClient))
	r.Post("/clients/:id/delete", page(d.DeleteClient))
}

// Clients serves GET /e/:env/clients.
func (d *Dashboard) Clients(c *fiber.Ctx, v *view) error {
	v.Title, v.Section, v.Data = "Clients", "clients", d.Catalog.Clients(v.Env.Slug)
	return d.render(c, fiber.StatusOK, "clients.html", v)
}

// Client serves GET /e/:env/clients/:id: the client, its quickstart, its edit form and its
// actions.
func (d *Dashboard) Client(c *fiber.Ctx, v *view) error {
	cl, ok := d.Catalog.Client(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.message(c, fiber.StatusNotFound, "No such client", "This environment has no client with that id.")
	}
	return d.clientPage(c, v, fiber.StatusOK, cl)
}

func (d *Dashboard) clientPage(c *fiber.Ctx, v *view, status int, cl catalog.Client) error {
	s := cl.Settings
	f := clientForm{ID: cl.ID, Name: s.Name, Type: string(cl.Type), TokenFormat: string(s.TokenFormat), Grants: s.GrantTypes,
		RedirectURIs: s.RedirectURIs, PostLogout: s.PostLogoutRedirectURIs, Scopes: s.Scopes, FirstParty: s.FirstParty, Client: cl}
	f.Available = d.Catalog.Scopes(v.Env.Slug)
	f.Quickstart = quickstart(v.Env.Issuer, cl, f.Available, "")
	f.Base = clientBase(s)
	v.Title, v.Section, v.Data = s.Name, "clients", f
	return d.render(c, status, "client.html", v)
}

// ShowSecret serves GET /e/:env/clients/:id/secret, where registering and rotating
// redirect: the new secret and the quickstart with it, once (the flash cookie the POST
// left, see flash.go). Any later visit shows the client page and says the secret was
// shown once.
func (d *Dashboard) ShowSecret(c *fiber.Ctx, v *view) error {
	cl, ok := d.Catalog.Client(v.Env.Slug, c.Params("id"))
	if !ok || cl.Type != client.Confidential {
		return d.message(c, fiber.StatusNotFound, "No such client", "This environment has no confidential client with that id.")
	}
	fl, ok := d.takeSecretFlash(c, v, cl)
	if !ok {
		v.Notice = secretShownOnce
		return d.clientPage(c, v, fiber.StatusOK, cl)
	}
	f := clientForm{Client: cl, Secret: fl.Secret, Created: !fl.Rotated, Rotated: fl.Rotated,
		Quickstart: quickstart(v.Env.Issuer, cl, d.Catalog.Scopes(v.Env.Slug), fl.Secret)}
	if fl.PreviousValidUntil > d.Now().Unix() {
		f.PreviousValidUntil = time.Unix(fl.PreviousValidUntil, 0).UTC().Format("2006-01-02 15:04:05 UTC")
	}
	v.Title = "Application registered"
	if fl.Rotated {
		v.Title = "New client secret"
	}
	v.Section, v.Data = "clients", f
	return d.render(c, fiber.StatusOK, "client-secret.html", v)
}

// UpdateClient serves POST /e/:env/clients/:id: the settings are replaced.
func (d *Dashboard) UpdateClient(c *fiber.Ctx, v *view) error {
	cl, ok := d.Catalog.Client(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.message(c, fiber.StatusNotFound, "No such client", "This environment has no client with that id.")
	}
	f := readClientForm(c)
	f.ID, f.Type, f.Client, f.Base = cl.ID, string(cl.Type), cl, clientBase(cl.Settings)
	// The form replaces every setting with what it showed, as edited: it is written only
	// if the client's settings are still the ones it was made from (a form without its
	// base, from a script, replaces them as before).
	var err error
	var expect *client.Settings
	if base := c.FormValue("base"); base != "" {
		if base != f.Base {
			err = client.ErrChanged
		}
		expect = &cl.Settings
	}
	if err == nil {
		_, err = d.App.UpdateClient(c.UserContext(), app.UpdateClient{Environment: v.Env.Slug, ClientID: cl.ID, Grantor: client.OperatorGrantor,
			Settings: f.settings(cl.Settings.RefreshRetryWindow), Expected: expect}, actor(c, v))
	}
	if errors.Is(err, client.ErrChanged) {
		cl, _ = d.Catalog.Client(v.Env.Slug, cl.ID)
		v.Error = clientChanged
		return d.clientPage(c, v, fiber.StatusConflict, cl)
	}
	if err != nil {
		v.Error = d.problem(err)
		f.Available = d.Catalog.Scopes(v.Env.Slug)
		v.Title, v.Section, v.Data = cl.Settings.Name, "clients", f
		return d.render(c, fiber.StatusBadRequest, "client.html", v)
	}
	return done(c, d.clientsBase(v)+"/"+url.PathEscape(cl.ID), okClientSaved)
}

// RotateSecret serves POST /e/:env/clients/:id/secret: a new secret, shown once by the page
// it redirects to (GET of the same path); the old one keeps working for the grace period
// chosen (none by default).
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
	fl := secretFlash{Client: cl.ID, Secret: rot.Secret, Rotated: true}
	if grace > 0 {
		fl.PreviousValidUntil = rot.PreviousValidUntil.Unix()
	}
	if err := d.setSecretFlash(c, v, fl); err != nil {
		return err
	}
	return c.Redirect(secretPath(v.Env.Slug, cl.ID), fiber.StatusSeeOther)
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
