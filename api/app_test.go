package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

func newApp(t *testing.T, checks ...api.Check) *fiber.App {
	t.Helper()
	c := catalog.New()
	err := c.Apply(domain.Record{Envelope: domain.Envelope{Position: 1, Environment: "acme-test", OccurredAt: time.Now()},
		Event: environment.Created{Environment: "acme-test", Account: "acme", Settings: environment.DefaultSettings("Acme")}})
	if err != nil {
		t.Fatal(err)
	}
	return api.New(api.Options{Directory: tenants.NewDirectory(c, "localhost:4000", "http"), Checks: checks})
}

func do(t *testing.T, app *fiber.App, method, host, path string) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, "http://"+host+path, nil)
	req.Host = host
	resp, err := app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body) //nolint:errcheck // some answers have no body
	resp.Body.Close()
	return resp, body
}

func TestHostResolution(t *testing.T) {
	app := newApp(t)
	resp, body := do(t, app, "GET", "acme-test.localhost:4000", "/")
	if resp.StatusCode != 200 || body["issuer"] != "http://acme-test.localhost:4000" || body["environment"] != "acme-test" {
		t.Errorf("known host: %d %v", resp.StatusCode, body)
	}
	for _, host := range []string{"other.localhost:4000", "localhost:4000", "acme-test.example.com"} {
		resp, body := do(t, app, "GET", host, "/")
		if resp.StatusCode != 404 || body["error"] != api.CodeUnknownHost || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %v", host, resp.StatusCode, body)
		}
	}
	resp, body = do(t, app, "GET", "acme-test.localhost:4000", "/no/such/thing")
	if resp.StatusCode != 404 || body["error"] != api.CodeNotFound {
		t.Errorf("unknown path: %d %v", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("security headers / request id missing: %v", resp.Header)
	}
}

func TestHealthOnAnyHost(t *testing.T) {
	failing := errors.New("dial tcp 10.0.0.7:5432: secret internal detail")
	healthy := api.Check{Name: "database", Probe: func(context.Context) error { return nil }}
	broken := api.Check{Name: "nats", Probe: func(context.Context) error { return failing }}

	app := newApp(t, healthy)
	for _, host := range []string{"acme-test.localhost:4000", "unknown.example", ""} {
		resp, body := do(t, app, "GET", host, "/healthz")
		if resp.StatusCode != 200 || body["status"] != "ok" {
			t.Errorf("healthz on %q: %d %v", host, resp.StatusCode, body)
		}
		resp, body = do(t, app, "GET", host, "/readyz")
		if resp.StatusCode != 200 || body["status"] != "ready" {
			t.Errorf("readyz on %q: %d %v", host, resp.StatusCode, body)
		}
	}
	app = newApp(t, healthy, broken)
	resp, body := do(t, app, "GET", "acme-test.localhost:4000", "/readyz")
	checks, _ := body["checks"].(map[string]any)
	if resp.StatusCode != 503 || checks["nats"] != "unavailable" || checks["database"] != "ok" {
		t.Errorf("readyz with NATS down: %d %v", resp.StatusCode, body)
	}
	if b, _ := json.Marshal(body); strings.Contains(string(b), "secret internal detail") {
		t.Error("readyz leaked an internal error text")
	}
}

func TestErrorRendering(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("append: %w", eventstore.ErrUnavailable), 503, api.CodeUnavailable},
		{domain.Invalid("slug", "must be short"), 400, api.CodeInvalidRequest},
		{environment.ErrSlugTaken, 409, api.CodeConflict},
		{domain.ErrNotFound, 404, api.CodeNotFound},
		{&eventstore.ConflictError{Stream: "s"}, 409, api.CodeConflict},
		{errors.New("pq: password authentication failed for user paylent"), 500, api.CodeServerError},
	}
	for _, c := range cases {
		app := fiber.New(fiber.Config{ErrorHandler: api.ErrorHandler(slog.New(slog.DiscardHandler))})
		app.Get("/boom", func(*fiber.Ctx) error { return c.err })
		resp, body := do(t, app, "GET", "anything", "/boom")
		if resp.StatusCode != c.status || body["error"] != c.code {
			t.Errorf("%v: %d %v, want %d %s", c.err, resp.StatusCode, body, c.status, c.code)
		}
		if c.status == 503 && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if c.status == 500 && strings.Contains(fmt.Sprint(body), "password") {
			t.Errorf("internal error text reached the client: %v", body)
		}
	}
}
