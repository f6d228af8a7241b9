package dashboard

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
)

var okAPICreated = notice("api-created", "API registered.")

func (d *Dashboard) mountAPIs(r fiber.Router) {
	r.Post("/apis", page(d.CreateAPI))
}

// apiForm is the Register API form on the Scopes page.
type apiForm struct{ Identifier, Name string }

// CreateAPI serves POST /e/:env/apis: an API identifier (the audience of its tokens).
func (d *Dashboard) CreateAPI(c *fiber.Ctx, v *view) error {
	f := apiForm{Identifier: strings.TrimSpace(c.FormValue("identifier")), Name: strings.TrimSpace(c.FormValue("name"))}
	_, err := d.App.CreateAPI(c.UserContext(), app.CreateAPI{Environment: v.Env.Slug, Identifier: f.Identifier, Name: f.Name}, actor(c, v))
	if err != nil {
		v.Error = d.problem(err)
		d.scopesPage(v, f)
		return d.render(c, fiber.StatusBadRequest, "scopes.html", v)
	}
	return done(c, scopesBase(v), okAPICreated)
}
