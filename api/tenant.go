package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/tenants"
)

type localKey int

const tenantKey localKey = iota

// tenant resolves the environment from the Host once; handlers read it with tenantOf and
// pass it on as an explicit argument.
func tenant(d *tenants.Directory) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, err := d.Resolve(string(c.Request().Host()))
		if err != nil {
			return err
		}
		c.Locals(tenantKey, t)
		return c.Next()
	}
}

func tenantOf(c *fiber.Ctx) tenants.Tenant {
	t, _ := c.Locals(tenantKey).(tenants.Tenant)
	return t
}

// environmentInfo answers GET / on an environment's host.
func environmentInfo(c *fiber.Ctx) error {
	t := tenantOf(c)
	return c.JSON(fiber.Map{"environment": t.Slug, "issuer": t.Issuer})
}

// withTenant adapts a handler that takes the tenant as an explicit argument.
func withTenant(h func(*fiber.Ctx, tenants.Tenant) error) fiber.Handler {
	return func(c *fiber.Ctx) error { return h(c, tenantOf(c)) }
}
