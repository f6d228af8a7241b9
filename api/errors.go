package api

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/tenants"
)

// Error codes of JSON error bodies. They are stable: clients switch on them.
const (
	CodeInvalidRequest = "invalid_request"
	CodeNotFound       = "not_found"
	CodeUnknownHost    = "unknown_environment"
	CodeConflict       = "conflict"
	CodeUnavailable    = "temporarily_unavailable"
	CodeMethod         = "method_not_allowed"
	CodeTooLarge       = "request_too_large"
	CodeServerError    = "server_error"
)

// ErrorBody is the JSON body of every non-OAuth error answer.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// ErrorHandler renders any error a handler returns. Only errors we know the meaning of
// reach the client with their text; anything else is logged and answered generically.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, body := classify(err)
		if status == fiber.StatusInternalServerError {
			log.Error("request failed", "method", c.Method(), "path", c.Path(),
				"request_id", requestID(c), "err", err)
		}
		if status == fiber.StatusServiceUnavailable {
			c.Set(fiber.HeaderRetryAfter, "5")
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(status).JSON(body)
	}
}

func classify(err error) (int, ErrorBody) {
	var fe *fiber.Error
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return fiber.StatusBadRequest, ErrorBody{Error: CodeInvalidRequest, Message: ve.Message, Field: ve.Field}
	case errors.Is(err, tenants.ErrUnknownHost):
		return fiber.StatusNotFound, ErrorBody{Error: CodeUnknownHost, Message: "no environment is served at this host"}
	case errors.Is(err, domain.ErrNotFound):
		return fiber.StatusNotFound, ErrorBody{Error: CodeNotFound, Message: "not found"}
	case errors.Is(err, domain.ErrAlreadyExists):
		return fiber.StatusConflict, ErrorBody{Error: CodeConflict, Message: err.Error()}
	case errors.Is(err, eventstore.ErrConflict):
		return fiber.StatusConflict, ErrorBody{Error: CodeConflict, Message: "concurrent change; retry"}
	case errors.Is(err, eventstore.ErrUnavailable):
		return fiber.StatusServiceUnavailable, ErrorBody{Error: CodeUnavailable, Message: "the event store is unavailable; retry shortly"}
	case errors.As(err, &fe):
		switch fe.Code {
		case fiber.StatusNotFound:
			return fe.Code, ErrorBody{Error: CodeNotFound, Message: "no such endpoint"}
		case fiber.StatusMethodNotAllowed:
			return fe.Code, ErrorBody{Error: CodeMethod, Message: "method not allowed"}
		case fiber.StatusRequestEntityTooLarge:
			return fe.Code, ErrorBody{Error: CodeTooLarge, Message: "request body too large"}
		case fiber.StatusServiceUnavailable:
			return fe.Code, ErrorBody{Error: CodeUnavailable, Message: fe.Message}
		}
		if fe.Code >= 400 && fe.Code < 500 {
			return fe.Code, ErrorBody{Error: CodeInvalidRequest, Message: fe.Message}
		}
	}
	return fiber.StatusInternalServerError, ErrorBody{Error: CodeServerError, Message: "internal error"}
}
