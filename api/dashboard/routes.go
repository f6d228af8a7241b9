package dashboard

import (
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

// sections are the environment's pages, in the navigation's order.
var sections = []string{"clients", "scopes", "users", "sessions", "audit", "settings", "operators", "mailbox"}

func (d *Dashboard) routes() {
	a := d.app
	if d.RecordRoutes {
		a.Use(recordRoute)
	}
	a.Use(d.securityHeaders)
	assets, _ := fs.Sub(assetFiles, "assets")
	a.Use("/assets", filesystem.New(filesystem.Config{Root: http.FS(assets), MaxAge: 3600}))
	a.Get("/", d.Home)
	a.Get("/login", d.Login)
	a.Get("/callback", d.Callback)
	a.Post("/logout", d.Logout)
	a.Get("/signed-out", d.SignedOut)
	a.Get("/switch", d.Switch)
	e := a.Group("/e/:env", d.environment)
	e.Get("/", func(c *fiber.Ctx) error {
		return c.Redirect("/e/"+url.PathEscape(c.Params("env"))+"/clients", fiber.StatusSeeOther)
	})
	d.mountClients(e)
	d.mountScopes(e)
	d.mountAPIs(e)
	d.mountUsers(e)
	d.mountSessions(e)
	d.mountAudit(e)
	d.mountSettings(e)
	d.mountOperators(e)
	d.mountMailbox(e)
	a.Use(func(c *fiber.Ctx) error {
		return d.message(c, fiber.StatusNotFound, "Not found", "There is no such page.")
	})
}

// Home serves GET /: the sign-in page, or the first environment's clients.
func (d *Dashboard) Home(c *fiber.Ctx) error {
	d.fresh(c)
	op, ok := d.current(c)
	if !ok {
		return d.render(c, fiber.StatusOK, "signin.html", &view{Title: "Sign in"})
	}
	envs := d.environments(op)
	if len(envs) == 0 {
		return d.message(c, fiber.StatusForbidden, "No environments",
			"You are signed in as "+op.Email+", but you operate no account yet. Ask an operator of your account to add you.")
	}
	return c.Redirect("/e/"+envs[0].Slug+"/clients", fiber.StatusSeeOther)
}

// Switch serves GET /switch?env=SLUG&section=NAME: the environment switcher's target.
func (d *Dashboard) Switch(c *fiber.Ctx) error {
	section := c.Query("section")
	if !slices.Contains(sections, section) {
		section = "clients"
	}
	return c.Redirect("/e/"+url.PathEscape(c.Query("env"))+"/"+section, fiber.StatusSeeOther)
}

// Route is one page or form of an environment, as tests enumerate them.
type Route struct{ Method, Path string }

// EnvironmentRoutes lists every route under /e/:env (fiber syntax): the isolation tests
// request each one for an environment of another account.
func EnvironmentRoutes() []Route {
	var out []Route
	for _, r := range New(Deps{}).app.GetRoutes(true) {
		if strings.HasPrefix(r.Path, "/e/:env") && (r.Method == fiber.MethodGet || r.Method == fiber.MethodPost) {
			out = append(out, Route{Method: r.Method, Path: r.Path})
		}
	}
	return out
}
