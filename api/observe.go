package api

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api/dashboard"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/tenants"
)

// RequestObserver is told of every answered request (internal/metrics implements it). The
// labels it gets are bounded whatever clients send: the route pattern, never the raw path;
// an environment class, never the slug (there may be tens of thousands of environments).
type RequestObserver interface {
	ObserveRequest(route, method, class string, status int, elapsed time.Duration)
}

// Environment classes of a request, as RequestObserver gets them.
const (
	ClassEnvironment = "environment" // a tenant's environment
	ClassSystem      = "system"      // the operators' environment (domain.OperatorsEnvironment)
	ClassDashboard   = "dashboard"   // dashboard.<public domain>
	ClassUnknown     = "unknown"     // no environment: health probes, unknown hosts
)

// RouteUnmatched labels requests no route matched (404s, unknown hosts).
const RouteUnmatched = "unmatched"

// observe times each request and reports it once the answer's status is final (errors are
// rendered by requestLog, inside this middleware).
func observe(o RequestObserver, dir *tenants.Directory) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		class := requestClass(c, dir)
		r := c.Route()
		if class == ClassDashboard {
			r = dashboardRoute(c)
		}
		o.ObserveRequest(routePattern(r, c.Path()), methodLabel(c.Method()), class, c.Response().StatusCode(), time.Since(start))
		return err
	}
}

// routePattern is the pattern of the route that answered: the path registered, a string the
// route owns (never the request's path, nor a request buffer), so the labels stay a bounded
// set whatever clients send. When no handler matched, the deepest route is a middleware
// (fiber's Use), which matches by prefix: the catch-all "/" is RouteUnmatched, another
// prefix ("/api/v1", the dashboard's "/assets") is labelled prefix + "/*".
func routePattern(r *fiber.Route, path string) string {
	switch {
	case r == nil:
		return RouteUnmatched
	case strings.ContainsAny(r.Path, ":*") || samePath(r.Path, path):
		return r.Path // a route with parameters, or one that matched the whole path
	case r.Path == "" || r.Path == "/":
		return RouteUnmatched
	default:
		return strings.TrimSuffix(r.Path, "/") + "/*"
	}
}

// samePath compares as fiber routes by default: case-insensitive, trailing slash ignored.
func samePath(pattern, path string) bool {
	trim := func(p string) string {
		if len(p) > 1 {
			return strings.TrimSuffix(p, "/")
		}
		return p
	}
	return strings.EqualFold(trim(pattern), trim(path))
}

// dashboardRoute is the route of the dashboard's own application that answered.
func dashboardRoute(c *fiber.Ctx) *fiber.Route { return dashboard.RouteOf(c) }

func requestClass(c *fiber.Ctx, dir *tenants.Directory) string {
	if t, ok := c.Locals(tenantKey).(tenants.Tenant); ok {
		if t.Slug == domain.OperatorsEnvironment {
			return ClassSystem
		}
		return ClassEnvironment
	}
	if label, ok := dir.Label(string(c.Request().Host())); ok && label == tenants.DashboardSlug {
		return ClassDashboard
	}
	return ClassUnknown
}

// methodLabel returns a constant for the method: c.Method() may alias the request's buffer,
// which is reused after the handler returns, and a label value is kept for ever.
func methodLabel(m string) string {
	for _, known := range []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodHead, fiber.MethodPut,
		fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace} {
		if m == known {
			return known
		}
	}
	return "OTHER"
}
