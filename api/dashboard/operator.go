package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/projections/catalog"
)

type localKey int

const viewKey localKey = iota

// current is the signed-in operator, if any: a valid cookie whose session in the operators'
// environment still stands (app.SessionOf: active, the operator's user enabled). Revoking
// the operator's session (Management API, Sessions page) signs them out of the dashboard at
// once.
func (d *Dashboard) current(c *fiber.Ctx) (operator, bool) {
	var op operator
	if !d.open("session", c.Cookies(sessionCookie), &op) {
		return operator{}, false
	}
	if _, ok := d.App.SessionOf(domain.OperatorsEnvironment, op.SessionID, op.UserID); !ok {
		return operator{}, false
	}
	return op, true
}

// envInfo is an environment as the switcher lists it.
type envInfo struct {
	Slug, Account, DisplayName, Issuer string
}

// environments lists the environments of the accounts the operator operates.
func (d *Dashboard) environments(op operator) []envInfo {
	var out []envInfo
	for _, a := range d.Catalog.OperatorAccounts(op.UserID) {
		for _, e := range d.Catalog.Environments(a.Slug) {
			out = append(out, envInfo{Slug: e.Slug, Account: e.Account, DisplayName: e.Settings.DisplayName, Issuer: d.Directory.Issuer(e.Slug)})
		}
	}
	return out
}

// fresh waits, bounded, until this instance's read models have applied everything logged
// before the request arrived: who may see what (an operator just removed, a session just
// revoked, on any instance) is decided on current data, and pages show every write already
// made. Dashboard traffic is light; one head query per page is cheap. With the database
// down it answers from what the models have.
func (d *Dashboard) fresh(c *fiber.Ctx) {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	head, err := d.Store.Head(ctx)
	if err == nil {
		err = d.waitFor(ctx, head)
	}
	if err != nil {
		d.Logger.Warn("dashboard answers from read models that may lag", "err", err)
	}
}

// signedIn requires a signed-in operator; others are sent to sign in and come back.
func (d *Dashboard) signedIn(c *fiber.Ctx) (*view, bool, error) {
	d.fresh(c)
	op, ok := d.current(c)
	if !ok {
		d.clearCookie(c, sessionCookie)
		if c.Method() != fiber.MethodGet {
			return nil, false, d.message(c, fiber.StatusUnauthorized, "Signed out", "Your sign-in has ended. Sign in again.")
		}
		return nil, false, c.Redirect("/login?return="+url.QueryEscape(string(c.Request().RequestURI())), fiber.StatusSeeOther)
	}
	v := &view{Operator: op, Envs: d.environments(op), CSRF: d.csrfFor(op), Mailbox: d.Outbox != ""}
	return v, true, nil
}

// environment is the middleware of /e/:env/...: a signed-in operator of the environment's
// account, a valid CSRF token on every POST, and current read models (fresh). An
// environment of another account answers exactly as one that does not exist.
func (d *Dashboard) environment(c *fiber.Ctx) error {
	v, ok, err := d.signedIn(c)
	if !ok {
		return err
	}
	slug := c.Params("env")
	for i := range v.Envs {
		if v.Envs[i].Slug == slug {
			v.Env = &v.Envs[i]
		}
	}
	if v.Env == nil {
		return d.message(c, fiber.StatusNotFound, "No such environment", "None of your accounts has an environment called "+strconv.Quote(slug)+".")
	}
	t, err := d.Directory.Get(slug)
	if err != nil {
		return d.message(c, fiber.StatusNotFound, "No such environment", "None of your accounts has an environment called "+strconv.Quote(slug)+".")
	}
	v.Tenant = t
	if c.Method() == fiber.MethodPost && !d.checkCSRF(c, v.Operator) {
		return d.message(c, fiber.StatusForbidden, "Request refused", "This form expired or did not come from the dashboard. Go back, reload and try again.")
	}
	v.Notice = notices[c.Query("ok")]
	c.Locals(viewKey, v)
	return c.Next()
}

// page adapts a handler that takes the view of the request.
func page(fn func(c *fiber.Ctx, v *view) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, _ := c.Locals(viewKey).(*view)
		return fn(c, v)
	}
}

// actor is the signed-in operator, as events record them.
func actor(c *fiber.Ctx, v *view) domain.Actor {
	ua := c.Get(fiber.HeaderUserAgent)
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return domain.Actor{Kind: domain.ActorOperator, ID: v.Operator.UserID, IP: c.IP(), UserAgent: ua}
}

// csrfFor is the form token of a sign-in: an HMAC of its session, so it needs no state.
func (d *Dashboard) csrfFor(op operator) string {
	m := hmac.New(sha256.New, d.key("csrf"))
	m.Write([]byte(op.SessionID + "\x00" + op.UserID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF verifies a POST: from our own origin (Sec-Fetch-Site, else Origin, else
// Referer) and carrying the sign-in's form token.
func (d *Dashboard) checkCSRF(c *fiber.Ctx, op operator) bool {
	self := d.origin()
	switch o := c.Get(fiber.HeaderOrigin); {
	case c.Get("Sec-Fetch-Site") != "" && c.Get("Sec-Fetch-Site") != "same-origin":
		return false
	case o != "":
		if !strings.EqualFold(o, self) {
			return false
		}
	default:
		if ref := c.Get(fiber.HeaderReferer); !strings.HasPrefix(strings.ToLower(ref), self+"/") {
			return false
		}
	}
	given := c.FormValue("_csrf")
	return op.SessionID != "" && given != "" && hmac.Equal([]byte(given), []byte(d.csrfFor(op)))
}

// userName is how pages name a user of the environment.
func userName(u catalog.User) string {
	if u.Name != "" {
		return u.Name + " <" + u.Email + ">"
	}
	return u.Email
}
