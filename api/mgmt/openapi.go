package mgmt

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI serves /api/v1/openapi.json (OpenAPI 3.1). A test checks that it lists exactly the
// routes that are served.
func OpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(openapiDoc)
}
