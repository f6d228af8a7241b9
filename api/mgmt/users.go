package mgmt

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/tenants"
)

// userBody is a user as the API shows it (never the password hash).
type userBody struct {
	ID            string `json:"user_id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	EmailVerified bool   `json:"email_verified"`
	Disabled      bool   `json:"disabled"`
	CreatedAt     string `json:"created_at"`
}

func viewUser(u catalog.User) userBody {
	return userBody{ID: u.ID, Email: u.Email, Name: u.Name, EmailVerified: u.EmailVerified, Disabled: u.Disabled, CreatedAt: stamp(u.CreatedAt)}
}

// CreateUser serves POST /api/v1/users.
func (h *Handlers) CreateUser(c *fiber.Ctx, t tenants.Tenant) error {
	var in struct {
		Email         string `json:"email"`
		Name          string `json:"name"`
		Password      string `json:"password"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	pw, err := user.NewPassword(in.Password, in.Email)
	if err != nil {
		return err
	}
	created, err := h.App.CreateUser(c.UserContext(), app.CreateUser{Environment: t.Slug, Email: in.Email, Name: in.Name,
		Password: pw, EmailVerified: in.EmailVerified}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", created.Position); err != nil {
		return err
	}
	u, _ := h.Catalog.User(t.Slug, created.UserID)
	return wrote(c, fiber.StatusCreated, created.Position, fiber.Map{"user": viewUser(u)})
}

// ListUsers serves GET /api/v1/users?email=PREFIX&cursor=EMAIL&limit=N (by email).
func (h *Handlers) ListUsers(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "catalog"); err != nil {
		return err
	}
	limit, err := strconv.Atoi(c.Query("limit", "50"))
	if err != nil || limit < 1 || limit > 500 {
		return invalid("limit", "must be 1 to 500")
	}
	page := h.Catalog.Users(t.Slug, c.Query("email"), c.Query("cursor"), limit+1)
	body := fiber.Map{}
	if len(page) > limit {
		page = page[:limit]
		body["next_cursor"] = page[limit-1].Email
	}
	out := []userBody{}
	for _, u := range page {
		out = append(out, viewUser(u))
	}
	body["users"] = out
	return c.JSON(body)
}

// GetUser serves GET /api/v1/users/:id.
func (h *Handlers) GetUser(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "catalog"); err != nil {
		return err
	}
	u, ok := h.Catalog.User(t.Slug, c.Params("id"))
	if !ok {
		return errNotFound
	}
	return c.JSON(fiber.Map{"user": viewUser(u)})
}

// UpdateUser serves PATCH /api/v1/users/:id ({"name": ..., "disabled": ...}). Disabling
// revokes the user's sessions.
func (h *Handlers) UpdateUser(c *fiber.Ctx, t tenants.Tenant) error {
	var in struct {
		Name     *string `json:"name"`
		Disabled *bool   `json:"disabled"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	ref := app.UserRef{Environment: t.Slug, UserID: c.Params("id")}
	var pos int64
	if in.Name != nil {
		p, err := h.App.RenameUser(c.UserContext(), ref, *in.Name, actor(c))
		if err != nil {
			return err
		}
		pos = p.Position
	}
	if in.Disabled != nil {
		change := h.App.EnableUser
		if *in.Disabled {
			change = h.App.DisableUser
		}
		ended, err := change(c.UserContext(), ref, actor(c))
		if err != nil {
			return err
		}
		pos = max(pos, ended.Position)
	}
	if _, ok := h.Catalog.User(t.Slug, ref.UserID); !ok && pos == 0 {
		return errNotFound
	}
	if err := h.catchUp(c, "catalog", pos); err != nil {
		return err
	}
	u, _ := h.Catalog.User(t.Slug, ref.UserID)
	return wrote(c, fiber.StatusOK, pos, fiber.Map{"user": viewUser(u)})
}

// DeleteUser serves DELETE /api/v1/users/:id: the user is deleted and, in the same append,
// their sessions and grants (with every token) end.
func (h *Handlers) DeleteUser(c *fiber.Ctx, t tenants.Tenant) error {
	ended, err := h.App.DeleteUser(c.UserContext(), app.UserRef{Environment: t.Slug, UserID: c.Params("id")}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", ended.Position); err != nil {
		return err
	}
	return wrote(c, fiber.StatusOK, ended.Position, fiber.Map{"deleted": true,
		"revoked": fiber.Map{"sessions": ended.Sessions, "grants": ended.Grants}})
}

// ResetPassword serves POST /api/v1/users/:id/password ({"password": "..."} or
// {"generate": true}): an operator's reset under the one password policy; in the same append
// every session and grant of the user ends. A generated password is in this answer only.
func (h *Handlers) ResetPassword(c *fiber.Ctx, t tenants.Tenant) error {
	var in struct {
		Password *string `json:"password"`
		Generate bool    `json:"generate"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	switch {
	case in.Password != nil && in.Generate:
		return invalid("generate", "give a password or generate one, not both")
	case in.Password == nil && !in.Generate:
		return invalid("password", "is required (or \"generate\": true)")
	case in.Password != nil && *in.Password == "":
		return invalid("password", "must not be empty (or \"generate\": true)")
	}
	req := app.ResetPassword{Environment: t.Slug, UserID: c.Params("id")}
	if in.Password != nil {
		req.Password = *in.Password
	}
	done, err := h.App.ResetPassword(c.UserContext(), req, actor(c))
	if err != nil && done.Position == 0 {
		return err
	}
	if err != nil {
		// The password is set (and a generated one exists only in this answer): say so, and
		// let the operator retry ending what the user holds.
		h.log.Warn("password reset: the sweep after it failed", "user_id", done.UserID, "err", err)
	}
	body := fiber.Map{"user_id": done.UserID, "email": done.Email,
		"revoked": fiber.Map{"sessions": done.Sessions, "grants": done.Grants}}
	if done.Generated != "" {
		body["password"] = done.Generated
	}
	return wrote(c, fiber.StatusOK, done.Position, body)
}

// sessionBody is a session as the API shows it (never its token hash).
type sessionBody struct {
	ID           string `json:"session_id"`
	UserID       string `json:"user_id"`
	IP           string `json:"ip"`
	UserAgent    string `json:"user_agent"`
	AuthTime     string `json:"auth_time"`
	LastActivity string `json:"last_activity"`
	ExpiresAt    string `json:"expires_at"`
	Active       bool   `json:"active"`
}

func (h *Handlers) viewSession(s sessions.Session) sessionBody {
	return sessionBody{ID: s.ID, UserID: s.UserID, IP: s.IP, UserAgent: s.UserAgent, AuthTime: stamp(s.AuthTime),
		LastActivity: stamp(s.LastActivity), ExpiresAt: stamp(s.ExpiresAt), Active: s.Active(h.Now())}
}

// ListSessions serves GET /api/v1/sessions?user_id=&active=true.
func (h *Handlers) ListSessions(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "sessions"); err != nil {
		return err
	}
	activeOnly := c.QueryBool("active")
	var list []sessions.Session
	if uid := c.Query("user_id"); uid != "" {
		list = h.Sessions.OfUser(t.Slug, uid)
	} else {
		list = h.Sessions.All(t.Slug)
	}
	out := []sessionBody{}
	for _, s := range list {
		if !activeOnly || s.Active(h.Now()) {
			out = append(out, h.viewSession(s))
		}
	}
	return c.JSON(fiber.Map{"sessions": out})
}

// GetSession serves GET /api/v1/sessions/:id.
func (h *Handlers) GetSession(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "sessions"); err != nil {
		return err
	}
	s, ok := h.Sessions.ByID(t.Slug, c.Params("id"))
	if !ok {
		return errNotFound
	}
	return c.JSON(fiber.Map{"session": h.viewSession(s)})
}

// SessionAction serves POST /api/v1/sessions/:id/touch and /revoke.
func (h *Handlers) SessionAction(c *fiber.Ctx, t tenants.Tenant) error {
	id := c.Params("id")
	var res app.Written
	var err error
	switch c.Params("action") {
	case "touch":
		res, err = h.App.TouchSession(c.UserContext(), app.TouchSession{Environment: t.Slug, SessionID: id, IP: c.IP()}, actor(c))
	case "revoke":
		res, err = h.App.RevokeSession(c.UserContext(), app.SessionRef{Environment: t.Slug, SessionID: id}, actor(c))
	default:
		return errNotFound
	}
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "sessions", res.Position); err != nil {
		return err
	}
	s, _ := h.Sessions.ByID(t.Slug, id)
	return wrote(c, fiber.StatusOK, res.Position, fiber.Map{"session": h.viewSession(s)})
}

// ListConsents serves GET /api/v1/users/:id/consents.
func (h *Handlers) ListConsents(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "sessions"); err != nil {
		return err
	}
	out := []fiber.Map{}
	for clientID, scopes := range h.Sessions.ConsentsOf(t.Slug, c.Params("id")) {
		out = append(out, fiber.Map{"client_id": clientID, "scope": strings.Join(scopes, " ")})
	}
	return c.JSON(fiber.Map{"consents": out})
}

// RevokeConsent serves DELETE /api/v1/users/:id/consents/:client: the consent is forgotten
// and every grant of the user for the client is revoked (with their tokens).
func (h *Handlers) RevokeConsent(c *fiber.Ctx, t tenants.Tenant) error {
	ended, err := h.App.RevokeConsent(c.UserContext(), app.ConsentRef{Environment: t.Slug, UserID: c.Params("id"),
		ClientID: c.Params("client")}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "sessions", ended.Position); err != nil {
		return err
	}
	return wrote(c, fiber.StatusOK, ended.Position, fiber.Map{"revoked": true, "grants": ended.Grants})
}

// ListFactors serves GET /api/v1/users/:id/factors: the user's second factors (kind,
// status, when set up and last used, recovery codes left; never a secret).
func (h *Handlers) ListFactors(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "catalog"); err != nil {
		return err
	}
	u, ok := h.Catalog.User(t.Slug, c.Params("id"))
	if !ok {
		return errNotFound
	}
	f, err := h.App.Factors(c.UserContext(), t.Slug, u.ID)
	if err != nil {
		return err
	}
	body := fiber.Map{"factors": f.List}
	if f.LockedUntil.After(h.Now()) {
		body["locked_until"] = stamp(f.LockedUntil)
	}
	return c.JSON(body)
}

// RemoveFactor serves DELETE /api/v1/users/:id/factors/:factor: an operator's reset (the
// user signs in with their password alone until they set up a new one, or must set one up
// at once if the environment requires a second factor).
func (h *Handlers) RemoveFactor(c *fiber.Ctx, t tenants.Tenant) error {
	res, err := h.App.RemoveFactor(c.UserContext(), app.RemoveFactor{Environment: t.Slug, UserID: c.Params("id"),
		FactorID: c.Params("factor"), ByOperator: true}, actor(c))
	if err != nil {
		return err
	}
	return wrote(c, fiber.StatusOK, res.Position, fiber.Map{"removed": true})
}
