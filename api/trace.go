package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/tenants"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceRequests puts each request in a server span, continuing the caller's W3C traceparent,
// and hands the span's context to the handlers (c.UserContext), so that the operation, the
// command it runs and the append are its children. The span is named by method and route
// pattern; its attributes are the route, the status, the environment class and slug —
// never the path's parameters, a query string, a header or a body, where codes and tokens
// travel.
func traceRequests(tr trace.Tracer, dir *tenants.Directory) fiber.Handler {
	prop := propagation.TraceContext{}
	return func(c *fiber.Ctx) error {
		ctx := prop.Extract(c.UserContext(), headerCarrier{c})
		method := methodLabel(c.Method())
		ctx, span := tr.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		c.SetUserContext(ctx)
		err := c.Next()
		class := requestClass(c, dir)
		r := c.Route()
		if class == ClassDashboard {
			r = dashboardRoute(c)
		}
		route, status := routePattern(r, c.Path()), c.Response().StatusCode()
		span.SetName(method + " " + route)
		span.SetAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route),
			attribute.Int("http.response.status_code", status), attribute.String("paylent.environment_class", class))
		if t, ok := c.Locals(tenantKey).(tenants.Tenant); ok {
			span.SetAttributes(attribute.String("paylent.environment", t.Slug))
		}
		if status >= 500 {
			span.SetStatus(codes.Error, "")
		}
		return err
	}
}

// headerCarrier reads the W3C trace headers of a request (extraction only).
type headerCarrier struct{ c *fiber.Ctx }

func (h headerCarrier) Get(key string) string { return h.c.Get(key) }
func (h headerCarrier) Set(string, string)    {}
func (h headerCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }
