package api_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/dashboard"
	"github.com/paylent/paylent/api/mgmt"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recorder is a RequestObserver that counts requests by their labels.
type recorder struct {
	mu     sync.Mutex
	series map[string]int // route|method|class|status
}

func (r *recorder) ObserveRequest(route, method, class string, status int, elapsed time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if elapsed < 0 {
		status = -1 // never: a negative duration would be a bug
	}
	r.series[fmt.Sprintf("%s|%s|%s|%d", route, method, class, status)]++
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.series[key]
}

func observedApp(t *testing.T) (*recorder, *fiber.App) {
	t.Helper()
	c := catalog.New()
	for i, slug := range []string{"acme-test", domain.OperatorsEnvironment} {
		err := c.Apply(domain.Record{Envelope: domain.Envelope{Position: int64(i + 1), Environment: slug, OccurredAt: time.Now()},
			Event: environment.Created{Environment: slug, Account: "acme", Settings: environment.DefaultSettings("Acme")}})
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := tenants.NewDirectory(c, "localhost:4000", "http")
	rec := &recorder{series: map[string]int{}}
	app := api.New(api.Options{Directory: dir, Observer: rec, Mgmt: mgmt.New(mgmt.Deps{}),
		Dashboard: dashboard.New(dashboard.Deps{Directory: dir, Catalog: c, RecordRoutes: true})})
	return rec, app
}

func serveOnce(t *testing.T, app *fiber.App, method, host, path string) {
	t.Helper()
	req := httptest.NewRequest(method, "http://"+host+path, nil)
	req.Host = host
	resp, err := app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// Requests are counted by the route pattern that answered, never by their path; by
// environment class, never by the environment; so 1,000 distinct paths and hosts make a
// handful of series.
func TestRequestMetricsHaveBoundedLabels(t *testing.T) {
	rec, h := observedApp(t)
	const n = 1000
	for i := range n {
		for _, req := range []struct{ host, path string }{
			{"acme-test.localhost:4000", fmt.Sprintf("/api/v1/clients/client-%d", i)},  // a pattern with a parameter
			{"acme-test.localhost:4000", fmt.Sprintf("/no/such/page-%d", i)},           // no route
			{"acme-test.localhost:4000", fmt.Sprintf("/api/v1/nothing-%d", i)},         // the Management API's own 404
			{fmt.Sprintf("env-%d.localhost:4000", i), fmt.Sprintf("/x-%d", i)},         // unknown environments
			{"dashboard.localhost:4000", fmt.Sprintf("/assets/dashboard.css?v=%d", i)}, // the dashboard's static files
		} {
			serveOnce(t, h, "GET", req.host, req.path)
		}
	}
	serveOnce(t, h, "GET", "acme-test.localhost:4000", "/healthz")
	serveOnce(t, h, "GET", "paylent.localhost:4000", "/")
	serveOnce(t, h, "GET", "acme-test.localhost:4000", "/")

	for key, want := range map[string]int{
		"/api/v1/clients/:id|GET|environment|401": n,
		"unmatched|GET|environment|404":           n,
		"/api/v1/*|GET|environment|404":           n,
		"unmatched|GET|unknown|404":               n, // the tenant middleware refused the host
		"/assets/*|GET|dashboard|200":             n,
		"/healthz|GET|unknown|200":                1,
		"/|GET|system|200":                        1,
		"/|GET|environment|200":                   1,
	} {
		if got := rec.count(key); got != want {
			t.Errorf("%s: %d requests, want %d", key, got, want)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.series) > 10 {
		t.Errorf("%d series for %d distinct paths and hosts: %v", len(rec.series), 5*n, rec.series)
	}
	for key := range rec.series {
		if strings.Contains(key, "client-") || strings.Contains(key, "env-") || strings.Contains(key, "page-") {
			t.Errorf("a raw path or host leaked into the labels: %s", key)
		}
	}
}

// Without an observer nothing is installed: the app answers as before.
func TestNoObserverNoMiddleware(t *testing.T) {
	app := newApp(t)
	resp, body := do(t, app, "GET", "acme-test.localhost:4000", "/")
	if resp.StatusCode != 200 || body["environment"] != "acme-test" {
		t.Errorf("%d %v", resp.StatusCode, body)
	}
}

// With a tracer, each request is a server span named by method and route pattern that
// continues the caller's traceparent; the path's values are in no span.
func TestRequestSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c := catalog.New()
	err := c.Apply(domain.Record{Envelope: domain.Envelope{Position: 1, Environment: "acme-test", OccurredAt: time.Now()},
		Event: environment.Created{Environment: "acme-test", Account: "acme", Settings: environment.DefaultSettings("Acme")}})
	if err != nil {
		t.Fatal(err)
	}
	app := api.New(api.Options{Directory: tenants.NewDirectory(c, "localhost:4000", "http"), Tracer: tp.Tracer("test"),
		Mgmt: mgmt.New(mgmt.Deps{})})
	req := httptest.NewRequest("GET", "http://acme-test.localhost:4000/api/v1/clients/client-secretish", nil)
	req.Host = "acme-test.localhost:4000"
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	serveOnce(t, app, "GET", "acme-test.localhost:4000", "/no/such/page-1")

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	first := spans[0]
	if first.Name() != "GET /api/v1/clients/:id" || first.SpanKind() != trace.SpanKindServer ||
		first.Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || first.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("span %q kind %v parent %v", first.Name(), first.SpanKind(), first.Parent())
	}
	if spans[1].Name() != "GET unmatched" || spans[1].Parent().IsValid() {
		t.Errorf("second span %q parent %v", spans[1].Name(), spans[1].Parent())
	}
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			if v := kv.Value.Emit(); strings.Contains(v, "secretish") || strings.Contains(v, "page-1") {
				t.Errorf("span %s attribute %s = %s", s.Name(), kv.Key, v)
			}
		}
	}
}
