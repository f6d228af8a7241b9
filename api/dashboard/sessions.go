package dashboard

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/projections/sessions"
)

var (
	okSessionRevoked = notice("session-revoked", "Session revoked: that browser is signed out on its next request.")
	okTokenRevoked   = notice("token-revoked", "Token revoked: introspection and resource servers that follow revocations refuse it now (a refresh token ended its whole grant).")
)

// maxSessionRows bounds the Sessions page; a filter by user shows the others.
const maxSessionRows = 500

func (d *Dashboard) mountSessions(r fiber.Router) {
	r.Get("/sessions", page(d.ListSessions))
	r.Post("/sessions/:id/revoke", page(d.RevokeSession))
	r.Post("/tokens/revoke", page(d.RevokeToken))
}

// RevokeToken serves POST /e/:env/tokens/revoke: any token of the environment, pasted as
// its value or named by its jti (as the audit log shows it), is revoked. The value is never
// shown back.
func (d *Dashboard) RevokeToken(c *fiber.Ctx, v *view) error {
	value, jti := strings.TrimSpace(c.FormValue("token")), strings.TrimSpace(c.FormValue("jti"))
	_, err := d.App.RevokeToken(c.UserContext(), app.RevokeToken{Environment: v.Env.Slug, Token: value, JTI: jti}, actor(c, v))
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return d.message(c, fiber.StatusNotFound, "No such token", "This environment has no token with that value or jti.")
	case err != nil:
		return d.message(c, fiber.StatusBadRequest, "Not revoked", d.problem(err))
	}
	return done(c, sessionsBase(v), okTokenRevoked)
}

// sessionRow is a login session as tables show it.
type sessionRow struct {
	sessions.Session
	// Email is the user's address; "" when the user no longer exists.
	Email string
	// Status is "active", "revoked" or "expired".
	Status string
}

// sessionTable is what the "sessiontable" partial draws: the rows, and where a revoke
// form comes back to.
type sessionTable struct {
	Rows     []sessionRow
	Env      string
	CSRF     string
	Back     string
	ShowUser bool
}

// sessionsPage is the Sessions page: its filters, its table, and how many rows were cut.
type sessionsPage struct {
	Show, User string
	Table      sessionTable
	Hidden     int
}

func sessionsBase(v *view) string { return "/e/" + v.Env.Slug + "/sessions" }

// ListSessions serves GET /e/:env/sessions?show=active|all&user=EMAIL: newest first, active
// ones only unless show=all (an operator looks here for who is signed in now).
func (d *Dashboard) ListSessions(c *fiber.Ctx, v *view) error {
	p := sessionsPage{Show: "active", User: strings.TrimSpace(c.Query("user"))}
	if c.Query("show") == "all" {
		p.Show = "all"
	}
	var list []sessions.Session
	if p.User != "" {
		u, ok := d.Catalog.UserByEmail(v.Env.Slug, p.User)
		if ok {
			list = d.Sessions.OfUser(v.Env.Slug, u.ID)
		} else {
			v.Error = "No user of this environment has the address " + p.User + "."
		}
	} else {
		list = d.Sessions.All(v.Env.Slug)
	}
	rows := d.sessionRows(v, list, p.Show == "active")
	if len(rows) > maxSessionRows {
		p.Hidden, rows = len(rows)-maxSessionRows, rows[:maxSessionRows]
	}
	q := url.Values{}
	if p.Show != "active" {
		q.Set("show", p.Show)
	}
	if p.User != "" {
		q.Set("user", p.User)
	}
	p.Table = sessionTable{Rows: rows, Env: v.Env.Slug, CSRF: v.CSRF, Back: withQuery(sessionsBase(v), q), ShowUser: true}
	v.Title, v.Section, v.Data = "Sessions", "sessions", p
	return d.render(c, fiber.StatusOK, "sessions.html", v)
}

// sessionRows names each session's user and status; activeOnly drops ended sessions.
func (d *Dashboard) sessionRows(v *view, list []sessions.Session, activeOnly bool) []sessionRow {
	now := d.Now()
	rows := make([]sessionRow, 0, len(list))
	for _, s := range list {
		r := sessionRow{Session: s, Status: "active"}
		switch {
		case s.Revoked:
			r.Status = "revoked"
		case !s.Active(now):
			r.Status = "expired"
		}
		if activeOnly && r.Status != "active" {
			continue
		}
		if u, ok := d.Catalog.User(v.Env.Slug, s.UserID); ok {
			r.Email = u.Email
		}
		rows = append(rows, r)
	}
	return rows
}

// RevokeSession serves POST /e/:env/sessions/:id/revoke: the session ends, and the browser
// that holds it must sign in again. The form says where to come back to (a page of the same
// environment; anything else goes to the Sessions page).
func (d *Dashboard) RevokeSession(c *fiber.Ctx, v *view) error {
	s, ok := d.Sessions.ByID(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.message(c, fiber.StatusNotFound, "No such session", "This environment has no session with that id (ended sessions are forgotten after a while).")
	}
	_, err := d.App.RevokeSession(c.UserContext(), app.SessionRef{Environment: v.Env.Slug, SessionID: s.ID}, actor(c, v))
	if err != nil {
		return d.message(c, fiber.StatusBadRequest, "Not revoked", d.problem(err))
	}
	back := c.FormValue("back")
	if !localTo(back, "/e/"+v.Env.Slug+"/") {
		back = sessionsBase(v)
	}
	return done(c, strings.Clone(back), okSessionRevoked)
}

// localTo reports whether p is a plain path under prefix (see isLocalPath).
func localTo(p, prefix string) bool { return isLocalPath(p, prefix) && !strings.Contains(p, "//") }

// withQuery appends q to path, if it has anything.
func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
