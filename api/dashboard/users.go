package dashboard

import (
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/projections/catalog"
)

var (
	okUserCreated    = notice("user-created", "User created.")
	okUserRenamed    = notice("user-renamed", "Name saved.")
	okUserDisabled   = notice("user-disabled", "User disabled: they cannot sign in, and their sessions were revoked.")
	okUserEnabled    = notice("user-enabled", "User enabled: they can sign in again.")
	okUserDeleted    = notice("user-deleted", "User deleted.")
	okConsentRevoked = notice("consent-revoked", "Consent revoked: the application must ask again.")
)

// Users pages hold 50 users unless ?limit= says otherwise (1 to 200).
const (
	usersPerPage    = 50
	maxUsersPerPage = 200
)

func (d *Dashboard) mountUsers(r fiber.Router) {
	r.Get("/users", page(d.Users))
	r.Get("/users/new", page(d.NewUser))
	r.Post("/users", page(d.CreateUser))
	r.Get("/users/:id", page(d.User))
	r.Post("/users/:id", page(d.RenameUser))
	r.Post("/users/:id/disable", page(d.DisableUser))
	r.Post("/users/:id/enable", page(d.EnableUser))
	r.Get("/users/:id/delete", page(d.ConfirmDeleteUser))
	r.Post("/users/:id/delete", page(d.DeleteUser))
	r.Post("/users/:id/consents/:client/revoke", page(d.RevokeConsent))
	d.mountFactors(r)
}

// usersPage is one page of the user list: the search, the users, and the next page's link.
type usersPage struct {
	Q, After    string
	Users       []catalog.User
	Next, First string
	// Limit is the page size; KeepLimit says the search form carries it (not the default).
	Limit     int
	KeepLimit bool
}

// userForm is the Create user form (the password is never sent back).
type userForm struct{ Email, Name string }

// userPage is a user's page: properties, forms, sessions and consents.
type userPage struct {
	User        catalog.User
	Name        string
	LockedUntil time.Time
	// LockedFor is the source (IP address) locked out; "" when every source is.
	LockedFor string
	Sessions  sessionTable
	Consents  []consentRow
	Factors   factorList
}

// consentRow is a remembered consent of the user for a client.
type consentRow struct {
	ClientID, ClientName string
	Scopes               []string
}

func usersBase(v *view) string { return "/e/" + v.Env.Slug + "/users" }

func userPath(v *view, id string) string { return usersBase(v) + "/" + url.PathEscape(id) }

// Users serves GET /e/:env/users?q=PREFIX&after=EMAIL&limit=N: users by email, a page at a
// time (the cursor is the last email shown).
func (d *Dashboard) Users(c *fiber.Ctx, v *view) error {
	p := usersPage{Q: strings.TrimSpace(c.Query("q")), After: c.Query("after"), Limit: usersPerPage}
	if n, err := strconv.Atoi(c.Query("limit")); err == nil && n >= 1 && n <= maxUsersPerPage {
		p.Limit = n
	}
	p.Users = d.Catalog.Users(v.Env.Slug, p.Q, p.After, p.Limit+1)
	q := url.Values{}
	if p.Q != "" {
		q.Set("q", p.Q)
	}
	if p.KeepLimit = p.Limit != usersPerPage; p.KeepLimit {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.After != "" {
		p.First = withQuery(usersBase(v), q)
	}
	if len(p.Users) > p.Limit {
		p.Users = p.Users[:p.Limit]
		q.Set("after", p.Users[p.Limit-1].Email)
		p.Next = withQuery(usersBase(v), q)
	}
	v.Title, v.Section, v.Data = "Users", "users", p
	return d.render(c, fiber.StatusOK, "users.html", v)
}

// NewUser serves GET /e/:env/users/new: the Create user form.
func (d *Dashboard) NewUser(c *fiber.Ctx, v *view) error {
	return d.userForm(c, v, fiber.StatusOK, userForm{})
}

func (d *Dashboard) userForm(c *fiber.Ctx, v *view, status int, f userForm) error {
	v.Title, v.Section, v.Data = "Create user", "users", f
	return d.render(c, status, "user-form.html", v)
}

// CreateUser serves POST /e/:env/users. The password is checked, hashed, and forgotten.
func (d *Dashboard) CreateUser(c *fiber.Ctx, v *view) error {
	f := userForm{Email: strings.Clone(strings.TrimSpace(c.FormValue("email"))), Name: strings.Clone(strings.TrimSpace(c.FormValue("name")))}
	password := c.FormValue("password")
	if err := user.ValidateEmail(user.NormalizeEmail(f.Email)); err != nil {
		v.Error = d.problem(err)
		return d.userForm(c, v, fiber.StatusBadRequest, f)
	}
	pw, err := user.NewPassword(password, f.Email)
	if err != nil {
		v.Error = d.problem(err)
		return d.userForm(c, v, fiber.StatusBadRequest, f)
	}
	created, err := d.App.CreateUser(c.UserContext(), app.CreateUser{Environment: v.Env.Slug, Email: f.Email, Name: f.Name,
		Password: pw}, actor(c, v))
	if err != nil {
		v.Error = d.problem(err)
		if errors.Is(err, user.ErrEmailTaken) {
			v.Error = "email: a user of this environment already has this address."
		}
		return d.userForm(c, v, failStatus(c, err), f)
	}
	return done(c, userPath(v, created.UserID), okUserCreated)
}

// User serves GET /e/:env/users/:id.
func (d *Dashboard) User(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	return d.userPage(c, v, fiber.StatusOK, u, u.Name)
}

func (d *Dashboard) noUser(c *fiber.Ctx) error {
	return d.message(c, fiber.StatusNotFound, "No such user", "This environment has no user with that id.")
}

// userPage renders a user's page; name is the rename form's value.
func (d *Dashboard) userPage(c *fiber.Ctx, v *view, status int, u catalog.User, name string) error {
	p := userPage{User: u, Name: name, Factors: d.factors(c, v, u)}
	if until, source := u.Failures.Locked(); until.After(d.Now()) {
		p.LockedUntil, p.LockedFor = until, source
	}
	p.Sessions = sessionTable{Rows: d.sessionRows(v, d.Sessions.OfUser(v.Env.Slug, u.ID), false), Env: v.Env.Slug, CSRF: v.CSRF,
		Back: userPath(v, u.ID)}
	for clientID, scopes := range d.Sessions.ConsentsOf(v.Env.Slug, u.ID) {
		r := consentRow{ClientID: clientID, ClientName: clientID, Scopes: scopes}
		if cl, ok := d.Catalog.Client(v.Env.Slug, clientID); ok {
			r.ClientName = cl.Settings.Name
		}
		p.Consents = append(p.Consents, r)
	}
	sort.Slice(p.Consents, func(i, j int) bool { return p.Consents[i].ClientName < p.Consents[j].ClientName })
	v.Title, v.Section, v.Data = userName(u), "users", p
	return d.render(c, status, "user.html", v)
}

// RenameUser serves POST /e/:env/users/:id: the user's name changes.
func (d *Dashboard) RenameUser(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	name := strings.Clone(strings.TrimSpace(c.FormValue("name")))
	_, err := d.App.RenameUser(c.UserContext(), app.UserRef{Environment: v.Env.Slug, UserID: u.ID}, name, actor(c, v))
	if err != nil {
		v.Error = d.problem(err)
		return d.userPage(c, v, fiber.StatusBadRequest, u, name)
	}
	return done(c, userPath(v, u.ID), okUserRenamed)
}

// DisableUser serves POST /e/:env/users/:id/disable: the user can no longer sign in, and
// their sessions end.
func (d *Dashboard) DisableUser(c *fiber.Ctx, v *view) error { return d.setDisabled(c, v, true) }

// EnableUser serves POST /e/:env/users/:id/enable.
func (d *Dashboard) EnableUser(c *fiber.Ctx, v *view) error { return d.setDisabled(c, v, false) }

func (d *Dashboard) setDisabled(c *fiber.Ctx, v *view, disable bool) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	change, key := d.App.EnableUser, okUserEnabled
	if disable {
		change, key = d.App.DisableUser, okUserDisabled
	}
	if _, err := change(c.UserContext(), app.UserRef{Environment: v.Env.Slug, UserID: u.ID}, actor(c, v)); err != nil {
		v.Error = d.problem(err)
		return d.userPage(c, v, fiber.StatusBadRequest, u, u.Name)
	}
	return done(c, userPath(v, u.ID), key)
}

// ConfirmDeleteUser serves GET /e/:env/users/:id/delete: deleting asks first.
func (d *Dashboard) ConfirmDeleteUser(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	v.Title, v.Section, v.Data = "Delete "+userName(u), "users", userPage{User: u}
	return d.render(c, fiber.StatusOK, "user-delete.html", v)
}

// DeleteUser serves POST /e/:env/users/:id/delete: the user's sessions end, then the user
// is deleted and their address can be used again.
func (d *Dashboard) DeleteUser(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	if _, err := d.App.DeleteUser(c.UserContext(), app.UserRef{Environment: v.Env.Slug, UserID: u.ID}, actor(c, v)); err != nil {
		return d.message(c, fiber.StatusBadRequest, "Not deleted", d.problem(err))
	}
	return done(c, usersBase(v), okUserDeleted)
}

// RevokeConsent serves POST /e/:env/users/:id/consents/:client/revoke: the consent is
// forgotten, so the application must ask the user again.
func (d *Dashboard) RevokeConsent(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	clientID := strings.Clone(c.Params("client"))
	// The app's grants (refresh tokens and their access tokens) end in the same append.
	if _, err := d.App.RevokeConsent(c.UserContext(), app.ConsentRef{Environment: v.Env.Slug, UserID: u.ID, ClientID: clientID}, actor(c, v)); err != nil {
		v.Error = d.problem(err)
		return d.userPage(c, v, fiber.StatusBadRequest, u, u.Name)
	}
	return done(c, userPath(v, u.ID), okConsentRevoked)
}
