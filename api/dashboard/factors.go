package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/projections/catalog"
)

// A user's second factors and passkeys on their page, and the operator's resets: one factor,
// every factor, and the password (a generated one, shown once through the flash). Each
// destructive action asks first (a GET page with the form), posts with the CSRF token, and
// is recorded with the operator as the actor by the operation it calls.

var (
	okFactorRemoved = notice("factor-removed", "Factor removed: the user signs in without it (and sets up a new one if the environment requires a second factor).")
	okFactorsReset  = notice("factors-reset", "Every second factor and passkey of the user was removed.")
)

func (d *Dashboard) mountFactors(r fiber.Router) {
	r.Get("/users/:id/factors/reset", page(d.ConfirmResetFactors))
	r.Post("/users/:id/factors/reset", page(d.ResetFactors))
	r.Get("/users/:id/factors/:factor/remove", page(d.ConfirmRemoveFactor))
	r.Post("/users/:id/factors/:factor/remove", page(d.RemoveFactor))
	r.Get("/users/:id/password", page(d.PasswordPage))
	r.Post("/users/:id/password", page(d.ResetPassword))
}

// factorList is the user page's Second factors section.
type factorList struct {
	Factors []app.Factor
	// Problem says why the list could not be read ("" when it was).
	Problem string
	Locked  string
}

// factorPage is a confirmation or result page about a user's factors or password.
type factorPage struct {
	User   catalog.User
	Factor app.Factor
	// All: the reset removes every factor.
	All     bool
	Factors []app.Factor
	// Password is a generated password, shown once; Sessions and Grants what the reset ended.
	Password         string
	Sessions, Grants int
}

func factorPath(v *view, userID, factorID string) string {
	return userPath(v, userID) + "/factors/" + url.PathEscape(factorID)
}

// factors reads a user's factors for their page.
func (d *Dashboard) factors(c *fiber.Ctx, v *view, u catalog.User) factorList {
	f, err := d.App.Factors(c.UserContext(), v.Env.Slug, u.ID)
	if err != nil {
		return factorList{Problem: d.problem(err)}
	}
	out := factorList{Factors: f.List}
	if f.LockedUntil.After(d.Now()) {
		out.Locked = f.LockedUntil.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return out
}

// ConfirmRemoveFactor serves GET /e/:env/users/:id/factors/:factor/remove: removing asks first.
func (d *Dashboard) ConfirmRemoveFactor(c *fiber.Ctx, v *view) error {
	u, f, ok := d.userFactor(c, v)
	if !ok {
		return d.noFactor(c)
	}
	v.Title, v.Section, v.Data = "Remove a factor of "+userName(u), "users", factorPage{User: u, Factor: f}
	return d.render(c, fiber.StatusOK, "factor-remove.html", v)
}

// userFactor finds the user of the path and their factor.
func (d *Dashboard) userFactor(c *fiber.Ctx, v *view) (catalog.User, app.Factor, bool) {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return u, app.Factor{}, false
	}
	list, err := d.App.Factors(c.UserContext(), v.Env.Slug, u.ID)
	if err != nil {
		return u, app.Factor{}, false
	}
	for _, f := range list.List {
		if f.ID == c.Params("factor") {
			return u, f, true
		}
	}
	return u, app.Factor{}, false
}

func (d *Dashboard) noFactor(c *fiber.Ctx) error {
	return d.message(c, fiber.StatusNotFound, "No such factor", "This environment has no user with that id, or the user has no such factor.")
}

// RemoveFactor serves POST /e/:env/users/:id/factors/:factor/remove: an operator's reset of
// one factor (an authenticator app takes its recovery codes with it).
func (d *Dashboard) RemoveFactor(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	_, err := d.App.RemoveFactor(c.UserContext(), app.RemoveFactor{Environment: v.Env.Slug, UserID: u.ID,
		FactorID: c.Params("factor"), ByOperator: true}, actor(c, v))
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return d.noFactor(c)
	case err != nil:
		return d.message(c, fiber.StatusBadRequest, "Not removed", d.problem(err))
	}
	return done(c, userPath(v, u.ID), okFactorRemoved)
}

// ConfirmResetFactors serves GET /e/:env/users/:id/factors/reset: removing every factor asks
// first, and lists what goes.
func (d *Dashboard) ConfirmResetFactors(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	list, err := d.App.Factors(c.UserContext(), v.Env.Slug, u.ID)
	if err != nil {
		return err
	}
	if len(list.List) == 0 {
		return d.message(c, fiber.StatusNotFound, "Nothing to reset", userName(u)+" has no second factor or passkey.")
	}
	v.Title, v.Section, v.Data = "Reset the factors of "+userName(u), "users", factorPage{User: u, All: true, Factors: list.List}
	return d.render(c, fiber.StatusOK, "factor-remove.html", v)
}

// ResetFactors serves POST /e/:env/users/:id/factors/reset: every factor and passkey of the
// user is removed in one append.
func (d *Dashboard) ResetFactors(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	_, err := d.App.ResetFactors(c.UserContext(), app.ResetFactors{Environment: v.Env.Slug, UserID: u.ID}, actor(c, v))
	switch {
	case errors.Is(err, factor.ErrNoFactor):
		return d.message(c, fiber.StatusNotFound, "Nothing to reset", userName(u)+" has no second factor or passkey.")
	case err != nil:
		return d.message(c, fiber.StatusBadRequest, "Not reset", d.problem(err))
	}
	return done(c, userPath(v, u.ID), okFactorsReset)
}

// passwordCheck is what a password flash is bound to: the user's stored hash after the reset,
// so a later reset (or recovery) makes an older flash worthless.
func passwordCheck(u catalog.User) string {
	sum := sha256.Sum256([]byte("paylent dashboard password flash\x00" + u.PasswordHash))
	return hex.EncodeToString(sum[:])
}

// PasswordPage serves GET /e/:env/users/:id/password: right after a reset (the flash the
// POST left) the generated password, once; otherwise the reset's confirmation.
func (d *Dashboard) PasswordPage(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	p := factorPage{User: u}
	if fl, ok := d.takeFlash(c, v, passwordFlash, u.ID); ok && fl.Current == passwordCheck(u) {
		p.Password, p.Sessions, p.Grants = fl.Secret, fl.Sessions, fl.Grants
		v.Title, v.Section, v.Data = "New password for "+userName(u), "users", p
		return d.render(c, fiber.StatusOK, "user-password.html", v)
	}
	v.Title, v.Section, v.Data = "Reset the password of "+userName(u), "users", p
	return d.render(c, fiber.StatusOK, "user-password.html", v)
}

// ResetPassword serves POST /e/:env/users/:id/password: a generated password replaces the
// user's, every session and grant of theirs ends, and the answer redirects to the page that
// shows the password once (a reload shows the confirmation again and resets nothing).
func (d *Dashboard) ResetPassword(c *fiber.Ctx, v *view) error {
	u, ok := d.Catalog.User(v.Env.Slug, c.Params("id"))
	if !ok {
		return d.noUser(c)
	}
	res, err := d.App.ResetPassword(c.UserContext(), app.ResetPassword{Environment: v.Env.Slug, UserID: u.ID}, actor(c, v))
	if err != nil && res.Position == 0 {
		v.Error = d.problem(err)
		if errors.Is(err, access.ErrUserEnded) {
			v.Error = "This user is disabled: enable them first, then reset their password."
		}
		v.Title, v.Section, v.Data = "Reset the password of "+userName(u), "users", factorPage{User: u}
		return d.render(c, failStatus(c, err), "user-password.html", v)
	}
	if err != nil {
		// The password is set and a generated one exists only here: show it; what the sweep
		// after the reset missed is on the user's page (Sessions), to revoke.
		d.Logger.Warn("password reset: the sweep after it failed", "user_id", u.ID, "err", err)
	}
	if err := d.waitFor(c.UserContext(), res.Position); err != nil {
		return err
	}
	if u, ok = d.Catalog.User(v.Env.Slug, u.ID); !ok {
		return d.noUser(c)
	}
	if err := d.setFlash(c, v, passwordFlash, secretFlash{Client: u.ID, Secret: res.Generated, Current: passwordCheck(u),
		Sessions: res.Sessions, Grants: res.Grants}); err != nil {
		return err
	}
	return c.Redirect(passwordPath(v.Env.Slug, u.ID), fiber.StatusSeeOther)
}
