// Package rsfiber protects fiber (github.com/gofiber/fiber/v2) routes with a
// [resourceserver.Verifier]: the same checks and the same RFC 6750 answers as the net/http
// middleware [resourceserver.Verifier.RequireScope]. It is a package of its own so that
// net/http services do not link fiber.
//
//	app.Get("/documents", rsfiber.RequireScope(verifier, "docs:read"), func(c *fiber.Ctx) error {
//		claims, _ := rsfiber.Claims(c)
//		return c.SendString("hello " + claims.Subject)
//	})
package rsfiber

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/resourceserver"
)

// localsKey is where the claims are kept in the request's Locals.
type localsKey struct{}

// RequireScope lets a request through only with a valid bearer token in its Authorization
// header carrying every one of scopes (none: any valid token). The claims are available to
// later handlers through [Claims], and in c.UserContext() through
// [resourceserver.ClaimsFromContext]. Refusals are answered with
// [resourceserver.Verifier.ErrorResponse].
func RequireScope(v *resourceserver.Verifier, scopes ...string) fiber.Handler {
	scopes = append([]string(nil), scopes...)
	return func(c *fiber.Ctx) error {
		var claims *resourceserver.Claims
		var err error = resourceserver.ErrInvalidRequest
		if len(c.Request().Header.PeekAll(fiber.HeaderAuthorization)) <= 1 {
			// fasthttp reuses the header's memory after the handler returns; the verifier
			// may keep using the token (a shared introspection call), so it gets a copy.
			auth := strings.Clone(c.Get(fiber.HeaderAuthorization))
			claims, err = v.Authorize(c.UserContext(), auth, scopes...)
		}
		if err != nil {
			status, header, body := v.ErrorResponse(err)
			for k, vs := range header {
				c.Set(k, strings.Join(vs, ", "))
			}
			return c.Status(status).Send(body)
		}
		c.Locals(localsKey{}, claims)
		c.SetUserContext(resourceserver.ContextWithClaims(c.UserContext(), claims))
		return c.Next()
	}
}

// Claims returns the claims [RequireScope] verified for this request.
func Claims(c *fiber.Ctx) (*resourceserver.Claims, bool) {
	claims, ok := c.Locals(localsKey{}).(*resourceserver.Claims)
	return claims, ok && claims != nil
}
