package ratelimit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/internal/natstest"
)

// testConfig limits by the X-Test-IP header (app.Test has no real peer address), in
// environment acme-test, 2 requests a minute.
func testConfig() MiddlewareConfig {
	return MiddlewareConfig{
		Name: "token",
		Key: func(c *fiber.Ctx) (string, bool) {
			ip := c.Get("X-Test-IP")
			return "acme-test:" + ip, ip != ""
		},
		Limit: func(*fiber.Ctx) (int, time.Duration) { return 2, time.Minute },
	}
}

func testApp(l *Limiter, cfg MiddlewareConfig) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/oauth/token", Middleware(l, cfg), func(c *fiber.Ctx) error {
		if c.Get("X-Fail") != "" {
			return fiber.ErrBadRequest
		}
		return c.SendString("ok")
	})
	return app
}

type answer struct {
	status int
	header http.Header
	body   map[string]string
}

func post(t *testing.T, app *fiber.App, ip string, extra ...string) answer {
	t.Helper()
	req := httptest.NewRequest("POST", "/oauth/token", nil)
	if ip != "" {
		req.Header.Set("X-Test-IP", ip)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if resp.Header.Get("Content-Type") == fiber.MIMEApplicationJSON {
		if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func headerInt(t *testing.T, a answer, name string) int {
	t.Helper()
	n, err := strconv.Atoi(a.header.Get(name))
	if err != nil {
		t.Fatalf("%s: %q", name, a.header.Get(name))
	}
	return n
}

func TestMiddleware(t *testing.T) {
	s := natstest.Start(t)
	l := newLimiter(t, connect(t, s.ClientURL()), Options{})
	app := testApp(l, testConfig())
	ip := "2001:db8::42"

	for i, want := range []int{1, 0} {
		a := post(t, app, ip)
		if a.status != 200 || headerInt(t, a, HeaderLimit) != 2 || headerInt(t, a, HeaderRemaining) != want {
			t.Fatalf("request %d: %d %v", i+1, a.status, a.header)
		}
		if r := headerInt(t, a, HeaderReset); r < 59 || r > 60 {
			t.Errorf("request %d: %s %d", i+1, HeaderReset, r)
		}
		if a.header.Get(fiber.HeaderRetryAfter) != "" {
			t.Errorf("request %d: Retry-After on an admitted request", i+1)
		}
	}
	a := post(t, app, ip)
	retry := headerInt(t, a, fiber.HeaderRetryAfter)
	if a.status != fiber.StatusTooManyRequests || retry < 59 || retry > 60 ||
		a.header.Get(fiber.HeaderCacheControl) != "no-store" ||
		headerInt(t, a, HeaderRemaining) != 0 || headerInt(t, a, HeaderReset) != retry {
		t.Fatalf("refused: %d %v", a.status, a.header)
	}
	want := map[string]string{"error": "rate_limited", "message": "too many requests; retry after " + strconv.Itoa(retry) + " seconds"}
	if len(a.body) != 2 || a.body["error"] != want["error"] || a.body["message"] != want["message"] {
		t.Errorf("refused body %v, want %v", a.body, want)
	}

	// Another caller has its own budget; its errors still carry the headers.
	if a := post(t, app, "203.0.113.1", "X-Fail", "1"); a.status != 400 || headerInt(t, a, HeaderRemaining) != 1 {
		t.Errorf("other caller: %d %v", a.status, a.header)
	}
	// No key: not limited, no headers.
	for range 3 {
		if a := post(t, app, ""); a.status != 200 || a.header.Get(HeaderLimit) != "" {
			t.Fatalf("unkeyed: %d %v", a.status, a.header)
		}
	}
}

func TestMiddlewareUnlimitedAndDisabled(t *testing.T) {
	cfg := testConfig()
	cfg.Disabled = true
	app := testApp(nil, cfg) // PAYLENT_RATE_LIMITS=off needs no limiter
	for range 5 {
		if a := post(t, app, "192.0.2.1"); a.status != 200 || a.header.Get(HeaderLimit) != "" {
			t.Fatalf("disabled: %d %v", a.status, a.header)
		}
	}

	s := natstest.Start(t)
	cfg = testConfig()
	cfg.Limit = func(*fiber.Ctx) (int, time.Duration) { return 0, time.Minute } // environment without a limit
	app = testApp(newLimiter(t, connect(t, s.ClientURL()), Options{}), cfg)
	for range 5 {
		if a := post(t, app, "192.0.2.1"); a.status != 200 || a.header.Get(HeaderLimit) != "" {
			t.Fatalf("limit 0: %d %v", a.status, a.header)
		}
	}
}

func TestMiddlewareCustomOnLimited(t *testing.T) {
	s := natstest.Start(t)
	cfg := testConfig()
	var got Decision
	cfg.OnLimited = func(c *fiber.Ctx, d Decision) error {
		got = d
		return c.Status(fiber.StatusTooManyRequests).JSON(fiber.Map{"error": "slow_down"})
	}
	app := testApp(newLimiter(t, connect(t, s.ClientURL()), Options{}), cfg)
	post(t, app, "192.0.2.2")
	post(t, app, "192.0.2.2")
	a := post(t, app, "192.0.2.2")
	if a.status != 429 || a.body["error"] != "slow_down" || a.header.Get(fiber.HeaderRetryAfter) == "" || got.Allowed || got.RetryAfter <= 0 {
		t.Errorf("custom refusal: %d %v %v, decision %+v", a.status, a.header, a.body, got)
	}
}

// TestMiddlewareNATSDown: never a 500. Failing open limits per process; failing closed
// refuses with Retry-After 5.
func TestMiddlewareNATSDown(t *testing.T) {
	s := natstest.Start(t)
	l := newLimiter(t, connect(t, s.ClientURL()), Options{})
	open := testConfig()
	open.Name, open.FailOpen = "token", true
	closed := testConfig()
	closed.Name = "login"
	openApp, closedApp := testApp(l, open), testApp(l, closed)
	s.Shutdown()

	for i, want := range []int{200, 200, 429, 429} {
		a := post(t, openApp, "192.0.2.3")
		if a.status != want || a.header.Get(HeaderLimit) != "2" {
			t.Errorf("fail open, request %d: %d %v", i+1, a.status, a.header)
		}
	}
	for i := range 2 {
		a := post(t, closedApp, "192.0.2.3")
		if a.status != 429 || a.header.Get(fiber.HeaderRetryAfter) != "5" || a.body["error"] != CodeRateLimited {
			t.Errorf("fail closed, request %d: %d %v %v", i+1, a.status, a.header, a.body)
		}
	}
	// A misconfigured window is logged and decided the same way, never a 500.
	open.Limit = func(*fiber.Ctx) (int, time.Duration) { return 2, 48 * time.Hour }
	if a := post(t, testApp(l, open), "192.0.2.4"); a.status != 200 {
		t.Errorf("misconfigured, fail open: %d", a.status)
	}
	closed.Limit = open.Limit
	if a := post(t, testApp(l, closed), "192.0.2.4"); a.status != 429 {
		t.Errorf("misconfigured, fail closed: %d", a.status)
	}
}

func TestMiddlewarePanicsWithoutConfig(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("no panic")
		}
	}()
	Middleware(nil, MiddlewareConfig{Name: "token"})
}
