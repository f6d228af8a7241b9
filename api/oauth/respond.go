package oauth

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/eventstore"
)

// errorBody is RFC 6749 §5.2's error response.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// noStore marks a response as holding credentials (RFC 6749 §5.1).
func noStore(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
}

// fail renders err as an OAuth error. Anything that is not an *oauth.Error becomes
// server_error (or temporarily_unavailable when the store is down) with a generic text; the
// cause is logged, never sent.
func (h *Handlers) fail(c *fiber.Ctx, err error, basicAuthUsed bool) error {
	var oe *oauth.Error
	switch {
	case errors.As(err, &oe):
		if errors.Is(oe.Unwrap(), eventstore.ErrUnavailable) { // a flow's store was unreachable
			c.Set(fiber.HeaderRetryAfter, "5")
		}
	case errors.Is(err, eventstore.ErrUnavailable):
		oe = oauth.ErrTemporarilyUnavailable.WithCause(err)
		c.Set(fiber.HeaderRetryAfter, "5")
	case errors.Is(err, app.ErrStale):
		oe = oauth.ErrTemporarilyUnavailable.WithDescription("the server is catching up; retry in a moment").WithCause(err)
		c.Set(fiber.HeaderRetryAfter, "1")
	default:
		oe = oauth.ErrServerError.WithCause(err)
	}
	if oe.Status >= 500 || oe.Unwrap() != nil {
		level := slog.LevelWarn
		if oe.Status >= 500 {
			level = slog.LevelError
		}
		h.log.Log(c.UserContext(), level, "oauth request failed", "path", c.Path(), "error", oe.Code, "cause", oe.Unwrap())
	}
	noStore(c)
	if oe.Code == oauth.ErrInvalidClient.Code && basicAuthUsed {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="paylent", charset="UTF-8"`)
	}
	return c.Status(oe.Status).JSON(errorBody{Error: oe.Code, ErrorDescription: oe.Description})
}

// invalidFrom turns a domain validation error into invalid_request with its message.
func invalidFrom(err error) error {
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		return oauth.ErrInvalidRequest.WithDescription("%s: %s", ve.Field, ve.Message)
	}
	return err
}

// RateLimited renders a refused token request (429; the limiter has set Retry-After). RFC
// 6749 defines no such error; slow_down (RFC 8628) says what the client must do.
func RateLimited(c *fiber.Ctx, retryAfterSeconds int) error {
	noStore(c)
	return c.Status(fiber.StatusTooManyRequests).JSON(errorBody{Error: oauth.ErrSlowDown.Code,
		ErrorDescription: fmt.Sprintf("too many requests; retry after %d seconds", retryAfterSeconds)})
}
