package mgmt

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// clientBody is a client as the API reads and writes it (never with its secret hash).
type clientBody struct {
	ID                     string   `json:"client_id,omitempty"`
	Name                   string   `json:"name"`
	Type                   string   `json:"type"`
	GrantTypes             []string `json:"grant_types"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Scopes                 []string `json:"scopes"`
	TokenFormat            string   `json:"token_format,omitempty"`
	RefreshRetryWindow     int64    `json:"refresh_retry_window"`
	FirstParty             bool     `json:"first_party"`
	CreatedAt              string   `json:"created_at,omitempty"`
	UpdatedAt              string   `json:"updated_at,omitempty"`
}

func viewClient(cl catalog.Client) clientBody {
	s := cl.Settings
	return clientBody{ID: cl.ID, Name: s.Name, Type: string(cl.Type), GrantTypes: nonNil(s.GrantTypes), RedirectURIs: nonNil(s.RedirectURIs),
		PostLogoutRedirectURIs: nonNil(s.PostLogoutRedirectURIs), Scopes: nonNil(s.Scopes), TokenFormat: string(s.TokenFormat),
		RefreshRetryWindow: s.RefreshRetryWindow, FirstParty: s.FirstParty, CreatedAt: stamp(cl.CreatedAt), UpdatedAt: stamp(cl.UpdatedAt)}
}

func (b clientBody) settings() client.Settings {
	return client.Settings{Name: b.Name, GrantTypes: b.GrantTypes, RedirectURIs: b.RedirectURIs,
		PostLogoutRedirectURIs: b.PostLogoutRedirectURIs, Scopes: b.Scopes, TokenFormat: environment.TokenFormat(b.TokenFormat),
		RefreshRetryWindow: b.RefreshRetryWindow, FirstParty: b.FirstParty}
}

// CreateClient serves POST /api/v1/clients. A confidential client's secret is in this answer
// and nowhere else, ever.
func (h *Handlers) CreateClient(c *fiber.Ctx, t tenants.Tenant) error {
	var in clientBody
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.ID != "" {
		return invalid("client_id", "is assigned by Paylent")
	}
	reg, err := h.App.RegisterClient(c.UserContext(), app.RegisterClient{Environment: t.Slug, Type: client.Type(in.Type),
		Settings: in.settings(), Grantor: grantor(c)}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", reg.Position); err != nil {
		return err
	}
	cl, _ := h.Catalog.Client(t.Slug, reg.ClientID)
	body := fiber.Map{"client": viewClient(cl)}
	if reg.Secret != "" {
		body["client_secret"] = reg.Secret
	}
	return wrote(c, fiber.StatusCreated, reg.Position, body)
}

// ListClients serves GET /api/v1/clients.
func (h *Handlers) ListClients(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "catalog"); err != nil {
		return err
	}
	out := []clientBody{}
	for _, cl := range h.Catalog.Clients(t.Slug) {
		out = append(out, viewClient(cl))
	}
	return c.JSON(fiber.Map{"clients": out})
}

// GetClient serves GET /api/v1/clients/:id.
func (h *Handlers) GetClient(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "catalog"); err != nil {
		return err
	}
	cl, ok := h.Catalog.Client(t.Slug, c.Params("id"))
	if !ok {
		return errNotFound
	}
	return c.JSON(fiber.Map{"client": viewClient(cl)})
}

// UpdateClient serves PUT /api/v1/clients/:id: the settings are replaced (type and id stay).
func (h *Handlers) UpdateClient(c *fiber.Ctx, t tenants.Tenant) error {
	var in clientBody
	if err := decode(c, &in); err != nil {
		return err
	}
	id := c.Params("id")
	cl, ok := h.Catalog.Client(t.Slug, id)
	if !ok {
		return errNotFound
	}
	if (in.Type != "" && in.Type != string(cl.Type)) || (in.ID != "" && in.ID != id) {
		return invalid("type", "client_id and type cannot change")
	}
	res, err := h.App.UpdateClient(c.UserContext(), app.UpdateClient{Environment: t.Slug, ClientID: id, Settings: in.settings(),
		Grantor: grantor(c)}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", res.Position); err != nil {
		return err
	}
	cl, _ = h.Catalog.Client(t.Slug, id)
	return wrote(c, fiber.StatusOK, res.Position, fiber.Map{"client": viewClient(cl)})
}

// RotateClientSecret serves POST /api/v1/clients/:id/secret: a new secret, shown once; the
// old one keeps working for grace_seconds (default 0).
func (h *Handlers) RotateClientSecret(c *fiber.Ctx, t tenants.Tenant) error {
	var in struct {
		GraceSeconds int64 `json:"grace_seconds"`
	}
	if len(c.Body()) > 0 {
		if err := decode(c, &in); err != nil {
			return err
		}
	}
	rot, err := h.App.RotateClientSecret(c.UserContext(), app.RotateClientSecret{Environment: t.Slug, ClientID: c.Params("id"),
		Grace: time.Duration(in.GraceSeconds) * time.Second, Grantor: grantor(c)}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", rot.Position); err != nil {
		return err
	}
	return wrote(c, fiber.StatusOK, rot.Position, fiber.Map{"client_id": rot.ClientID, "client_secret": rot.Secret,
		"previous_secret_valid_until": stamp(rot.PreviousValidUntil)})
}

// DeleteClient serves DELETE /api/v1/clients/:id: the client and, in the same append, its
// grants and kept tokens end.
func (h *Handlers) DeleteClient(c *fiber.Ctx, t tenants.Tenant) error {
	ended, err := h.App.DeleteClient(c.UserContext(), app.ClientRef{Environment: t.Slug, ClientID: c.Params("id"), By: grantor(c)}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", ended.Position); err != nil {
		return err
	}
	return wrote(c, fiber.StatusOK, ended.Position, fiber.Map{"deleted": true,
		"revoked": fiber.Map{"grants": ended.Grants, "tokens": ended.Tokens}})
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
