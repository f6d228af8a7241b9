package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
)

// apiError is a JSON error with a stable code.
type apiError struct {
	status int
	code   string
	msg    string
	field  string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func invalid(field, format string, args ...any) error {
	return &apiError{status: fiber.StatusBadRequest, code: "invalid_request", msg: fmt.Sprintf(format, args...), field: field}
}

var errNotFound = &apiError{status: fiber.StatusNotFound, code: "not_found", msg: "no such resource in this environment"}

// Fail renders an error of the Management API.
func (h *Handlers) Fail(c *fiber.Ctx, err error) error {
	var ae *apiError
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ve):
		ae = &apiError{status: fiber.StatusBadRequest, code: "invalid_request", msg: ve.Message, field: ve.Field}
	case errors.Is(err, domain.ErrNotFound):
		ae = errNotFound
	case errors.Is(err, domain.ErrAlreadyExists):
		ae = &apiError{status: fiber.StatusConflict, code: "conflict", msg: err.Error()}
	case errors.Is(err, domain.ErrForbidden):
		ae = &apiError{status: fiber.StatusForbidden, code: "forbidden", msg: err.Error()}
	case errors.Is(err, app.ErrStale):
		c.Set(fiber.HeaderRetryAfter, "1")
		ae = &apiError{status: fiber.StatusServiceUnavailable, code: "temporarily_unavailable", msg: "read models are behind the event log; retry"}
	case errors.Is(err, eventstore.ErrConflict):
		ae = &apiError{status: fiber.StatusConflict, code: "conflict", msg: "a concurrent change won; retry"}
	case errors.Is(err, eventstore.ErrUnavailable):
		c.Set(fiber.HeaderRetryAfter, "5")
		ae = &apiError{status: fiber.StatusServiceUnavailable, code: "temporarily_unavailable", msg: "the event store is unavailable; retry shortly"}
	case errors.Is(err, secret.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, "2")
		ae = &apiError{status: fiber.StatusServiceUnavailable, code: "temporarily_unavailable", msg: "too many password hashes at once; retry shortly"}
	default:
		h.log.Error("management API request failed", "path", c.Path(), "err", err)
		ae = &apiError{status: fiber.StatusInternalServerError, code: "server_error", msg: "internal error"}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	body := fiber.Map{"error": ae.code, "message": ae.msg}
	if ae.field != "" {
		body["field"] = ae.field
	}
	return c.Status(ae.status).JSON(body)
}

// decode reads a JSON body strictly: unknown fields, trailing data and wrong types are
// refused with a message that names the problem.
func decode(c *fiber.Ctx, v any) error {
	ct := string(c.Request().Header.ContentType())
	if !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		return &apiError{status: fiber.StatusUnsupportedMediaType, code: "invalid_request", msg: "the body must be application/json"}
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return invalid(typeErr.Field, "has the wrong type (want %s)", typeErr.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return invalid(field, "is not a known field")
		default:
			return invalid("body", "is not valid JSON")
		}
	}
	if dec.More() {
		return invalid("body", "has data after the JSON object")
	}
	return nil
}

func isUnavailable(err error) bool {
	return errors.Is(err, eventstore.ErrUnavailable) || errors.Is(err, app.ErrStale)
}
