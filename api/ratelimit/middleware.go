package ratelimit

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// CodeRateLimited is the error code of the default 429 body.
const CodeRateLimited = "rate_limited"

// Headers of the IETF RateLimit header fields draft, set on every answer of a limited
// route.
const (
	HeaderLimit     = "RateLimit-Limit"
	HeaderRemaining = "RateLimit-Remaining"
	HeaderReset     = "RateLimit-Reset"
)

// MiddlewareConfig configures one limited route or group.
type MiddlewareConfig struct {
	// Name names the limit ("token", "login", "management"); it prefixes every key, so
	// limits never share a budget.
	Name string
	// Key returns the request's key, which should include the environment, e.g.
	// tenant slug + ":" + c.IP(); false leaves the request unlimited.
	Key func(c *fiber.Ctx) (string, bool)
	// Limit returns the environment's limit and window; a limit below 1 leaves the
	// request unlimited.
	Limit func(c *fiber.Ctx) (int, time.Duration)
	// Disabled turns the middleware into a pass-through (PAYLENT_RATE_LIMITS=off); the
	// Limiter may then be nil.
	Disabled bool
	// FailOpen chooses what happens when the shared store is unavailable (or the limit
	// is misconfigured): true admits requests under a per-process limit (the same limit
	// on each instance, so N×limit across N instances); false, the zero value, refuses
	// them with a 5 s Retry-After. See the package documentation for the choice per use.
	FailOpen bool
	// OnLimited renders a refusal. The middleware has already set Retry-After (whole
	// seconds, rounded up) and the RateLimit headers. Default: DefaultOnLimited.
	OnLimited func(c *fiber.Ctx, d Decision) error
}

// Middleware limits requests with l as cfg says. A failure of the limiter never becomes a
// 500: it is decided as cfg.FailOpen says and logged by l.
func Middleware(l *Limiter, cfg MiddlewareConfig) fiber.Handler {
	if cfg.Disabled {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	if l == nil || cfg.Name == "" || cfg.Key == nil || cfg.Limit == nil {
		panic("ratelimit: Middleware needs a Limiter, a Name, a Key and a Limit")
	}
	onLimited := cfg.OnLimited
	if onLimited == nil {
		onLimited = DefaultOnLimited
	}
	var lastComplaint atomic.Int64 // Unix ns; a misconfiguration is logged once a minute
	return func(c *fiber.Ctx) error {
		key, ok := cfg.Key(c)
		if !ok {
			return c.Next()
		}
		limit, window := cfg.Limit(c)
		if limit < 1 {
			return c.Next()
		}
		key = cfg.Name + ":" + key
		d, err := l.Allow(c.UserContext(), key, limit, window)
		if err != nil {
			if errors.Is(err, ErrInvalid) {
				if now, last := time.Now().UnixNano(), lastComplaint.Load(); now-last > int64(time.Minute) &&
					lastComplaint.CompareAndSwap(last, now) {
					l.log.Error("rate limit misconfigured", "name", cfg.Name, "err", err)
				}
				if cfg.FailOpen {
					return c.Next()
				}
			}
			d = l.degraded(key, limit, window, cfg.FailOpen)
		}
		setHeaders(c, limit, d)
		if !d.Allowed {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(seconds(d.RetryAfter)))
			return onLimited(c, d)
		}
		return c.Next()
	}
}

// DefaultOnLimited answers 429 with Cache-Control: no-store and the JSON error body
// {"error":"rate_limited","message":"too many requests; retry after N seconds"}.
func DefaultOnLimited(c *fiber.Ctx, d Decision) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusTooManyRequests).JSON(errorBody{
		Error:   CodeRateLimited,
		Message: "too many requests; retry after " + strconv.Itoa(seconds(d.RetryAfter)) + " seconds",
	})
}

// errorBody has the shape of api.ErrorBody (this package cannot import api, which
// will import it).
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func setHeaders(c *fiber.Ctx, limit int, d Decision) {
	c.Set(HeaderLimit, strconv.Itoa(limit))
	c.Set(HeaderRemaining, strconv.Itoa(max(0, d.Remaining)))
	c.Set(HeaderReset, strconv.Itoa(seconds(time.Until(d.Reset))))
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
