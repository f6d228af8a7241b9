package dashboard

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/tenants"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// view is what every page receives; Data is the page's own.
type view struct {
	Title    string
	Section  string
	Operator operator
	Env      *envInfo
	Envs     []envInfo
	Tenant   tenants.Tenant
	CSRF     string
	Mailbox  bool
	Notice   string
	Error    string
	Message  string
	Data     any
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"join": strings.Join,
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
}

// pages holds one template per page file: the layout with the page's "content".
var pages = func() map[string]*template.Template {
	// The layout and the partials (_*.html) are in every page.
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/_*.html"))
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFiles, n))
	}
	return out
}()

// render writes a page with the headers every dashboard page has.
func (d *Dashboard) render(c *fiber.Ctx, status int, name string, v *view) error {
	t, ok := pages[name]
	if !ok {
		return errors.New("no page template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// message answers with a page that says one thing (errors, refusals, set-up hints).
func (d *Dashboard) message(c *fiber.Ctx, status int, title, msg string) error {
	v := &view{Title: title, Message: msg}
	if op, ok := d.current(c); ok {
		v.Operator, v.Envs, v.CSRF, v.Mailbox = op, d.environments(op), d.csrfFor(op), d.Outbox != ""
	}
	return d.render(c, status, "message.html", v)
}

// securityHeaders: no caching, no framing, scripts and styles from ourselves only, forms
// posting to ourselves (and to the operators' environment, where sign-out goes).
func (d *Dashboard) securityHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; "+
		"form-action 'self' "+d.issuer()+"; frame-ancestors 'none'; base-uri 'none'")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	if !strings.HasPrefix(c.Path(), "/assets/") {
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return c.Next()
}

// notices are the one-line confirmations a page shows after a write (?ok=KEY); a fixed
// list, so a link cannot make the dashboard say anything else.
var notices = map[string]string{}

// notice registers a confirmation and returns its key.
func notice(key, text string) string {
	notices[key] = text
	return key
}

// done ends a successful write: back to path with its notice. Whichever instance serves the
// next page shows the write: every page first waits for the log's head (fresh).
func done(c *fiber.Ctx, path, key string) error {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return c.Redirect(path+sep+"ok="+key, fiber.StatusSeeOther)
}

// problem is how a form shows a refused write: the domain's words for bad input, a plain
// sentence otherwise (causes are logged, never shown).
func (d *Dashboard) problem(err error) string {
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return strings.ReplaceAll(ve.Field, "_", " ") + ": " + ve.Message
	case errors.Is(err, domain.ErrAlreadyExists):
		return "That already exists."
	case errors.Is(err, domain.ErrForbidden):
		return "Not allowed: " + err.Error() + "."
	case errors.Is(err, domain.ErrNotFound):
		return "That no longer exists."
	case errors.Is(err, eventstore.ErrConflict):
		return "Someone changed this at the same moment. Try again."
	case errors.Is(err, eventstore.ErrUnavailable):
		return "The event store is unavailable. Nothing was changed; try again shortly."
	case errors.Is(err, secret.ErrBusy):
		return "Too many passwords are being checked at once. Nothing was changed; try again in a moment."
	}
	d.Logger.Error("dashboard write failed", "err", err)
	return "Something went wrong. Nothing was changed."
}

// failStatus is the status of a page that shows a failed write: 503 with Retry-After when
// the password hasher was busy (the write may succeed in a moment), 400 otherwise.
func failStatus(c *fiber.Ctx, err error) int {
	if errors.Is(err, secret.ErrBusy) {
		c.Set(fiber.HeaderRetryAfter, "2")
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusBadRequest
}

// errorHandler renders what a handler returned as a page.
func (d *Dashboard) errorHandler(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		return d.message(c, fe.Code, "Error", fe.Message)
	case errors.Is(err, domain.ErrNotFound):
		return d.message(c, fiber.StatusNotFound, "Not found", "That does not exist in this environment.")
	case errors.Is(err, eventstore.ErrUnavailable):
		c.Set(fiber.HeaderRetryAfter, "5")
		return d.message(c, fiber.StatusServiceUnavailable, "Unavailable", "The event store is unavailable. Try again shortly.")
	}
	d.Logger.Error("dashboard request failed", "path", c.Path(), "err", err)
	return d.message(c, fiber.StatusInternalServerError, "Error", "Something went wrong.")
}
