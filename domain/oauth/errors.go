package oauth

import "fmt"

// Error is an OAuth 2.0 error (RFC 6749 §5.2, RFC 7009, RFC 6750). Its Description is sent to
// the client; its cause is for logs only. Use the package variables and the With methods,
// which return copies.
type Error struct {
	Code        string
	Description string
	Status      int
	cause       error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Description, e.cause)
	}
	return e.Code + ": " + e.Description
}

// Unwrap returns the hidden cause.
func (e *Error) Unwrap() error { return e.cause }

// Is matches errors with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithDescription returns a copy with a client-facing description.
func (e *Error) WithDescription(format string, args ...any) *Error {
	c := *e
	c.Description = fmt.Sprintf(format, args...)
	return &c
}

// WithStatus returns a copy answered with another HTTP status.
func (e *Error) WithStatus(status int) *Error {
	c := *e
	c.Status = status
	return &c
}

// WithCause returns a copy carrying a cause for the logs (never sent).
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

// The errors of RFC 6749, RFC 7009, RFC 6750, RFC 8707 and OpenID Connect Core.
var (
	ErrInvalidRequest          = &Error{Code: "invalid_request", Description: "the request is missing a parameter or is malformed", Status: 400}
	ErrInvalidClient           = &Error{Code: "invalid_client", Description: "client authentication failed", Status: 401}
	ErrInvalidGrant            = &Error{Code: "invalid_grant", Description: "the grant is invalid, expired, revoked or was issued to another client", Status: 400}
	ErrUnauthorizedClient      = &Error{Code: "unauthorized_client", Description: "the client is not allowed to do this", Status: 400}
	ErrUnsupportedGrantType    = &Error{Code: "unsupported_grant_type", Description: "the grant type is not supported", Status: 400}
	ErrInvalidScope            = &Error{Code: "invalid_scope", Description: "the requested scope is invalid or unknown", Status: 400}
	ErrUnsupportedTokenType    = &Error{Code: "unsupported_token_type", Description: "the token type is not supported", Status: 400}
	ErrInvalidToken            = &Error{Code: "invalid_token", Description: "the access token is invalid", Status: 401}
	ErrInsufficientScope       = &Error{Code: "insufficient_scope", Description: "the access token lacks the required scope", Status: 403}
	ErrAccessDenied            = &Error{Code: "access_denied", Description: "the request was denied", Status: 403}
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type", Description: "the response type is not supported", Status: 400}
	ErrInvalidTarget           = &Error{Code: "invalid_target", Description: "the requested resource is invalid or unknown", Status: 400}
	ErrTemporarilyUnavailable  = &Error{Code: "temporarily_unavailable", Description: "the server is temporarily unavailable; retry shortly", Status: 503}
	ErrServerError             = &Error{Code: "server_error", Description: "the server encountered an unexpected condition", Status: 500}
	ErrSlowDown                = &Error{Code: "slow_down", Description: "too many requests; retry later", Status: 429}
)
