package resourceserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// The error codes of RFC 6750 §3.1, and the one this package adds for a verifier that
// cannot reach its issuer.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	// CodeUnavailable is answered with 503 when tokens cannot be verified right now (the
	// issuer's keys or its introspection endpoint cannot be reached). The token may well be
	// valid, so it is not called invalid and clients should retry.
	CodeUnavailable = "temporarily_unavailable"
	// CodeInsufficientUserAuthentication (RFC 9470 §3): the token is valid, but the user
	// signed in too weakly or too long ago for this resource; the client asks Paylent again
	// with the acr_values and max_age the challenge names (step-up).
	CodeInsufficientUserAuthentication = "insufficient_user_authentication"
)

// Error is why a request was refused, in the terms of RFC 6750 §3. Every error returned by
// [Verifier.Verify] and [Verifier.Authorize] is an *Error; compare with [errors.Is] against
// the package's Err variables, which match by Code.
//
// Description is a fixed, human-readable text meant for developers: it never quotes the
// token or an internal error. The underlying cause, when there is one, is available to
// logs through [errors.Unwrap].
type Error struct {
	// Code is an RFC 6750 error code, [CodeUnavailable], or "" when the request carried no
	// token at all (RFC 6750 §3.1: the challenge then names no error).
	Code string
	// Description is sent as error_description.
	Description string
	// Scopes are the scopes the resource needs ([CodeInsufficientScope] only).
	Scopes []string
	// Status is the HTTP status to answer: 400, 401, 403 or 503.
	Status int
	// ACRValues and MaxAge (seconds; -1 for none) are what the resource needs
	// ([CodeInsufficientUserAuthentication] only).
	ACRValues []string
	MaxAge    int

	cause error
}

// The kinds of refusal, for errors.Is.
var (
	// ErrNoToken: the request had no bearer token (401, no error code).
	ErrNoToken = &Error{Status: http.StatusUnauthorized, Description: "a bearer token is required"}
	// ErrInvalidRequest: the Authorization header is malformed (400).
	ErrInvalidRequest = &Error{Code: CodeInvalidRequest, Status: http.StatusBadRequest, Description: "the Authorization header is malformed"}
	// ErrInvalidToken: the token is malformed, expired, revoked, forged, or not meant for
	// this API (401).
	ErrInvalidToken = &Error{Code: CodeInvalidToken, Status: http.StatusUnauthorized, Description: "the access token is invalid"}
	// ErrInsufficientScope: the token is valid but lacks a required scope (403).
	ErrInsufficientScope = &Error{Code: CodeInsufficientScope, Status: http.StatusForbidden, Description: "the access token lacks a required scope"}
	// ErrUnavailable: the token cannot be verified right now (503).
	ErrUnavailable = &Error{Code: CodeUnavailable, Status: http.StatusServiceUnavailable, Description: "the access token cannot be verified right now"}
)

func (e *Error) Error() string {
	msg := e.Code
	if msg == "" {
		msg = "no_token"
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap returns the hidden cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error of the same kind (same Code and Status).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Status == e.Status
}

// with returns a copy with another description and cause.
func (e *Error) with(description string, cause error) *Error {
	c := *e
	c.Description, c.cause = description, cause
	return &c
}

// InsufficientScope is the 403 refusal naming the scopes a resource needs.
func InsufficientScope(scopes ...string) *Error {
	c := *ErrInsufficientScope
	c.Scopes = append([]string(nil), scopes...)
	return &c
}

// invalid is an invalid_token refusal with a fixed description.
func invalid(description string) *Error { return ErrInvalidToken.with(description, nil) }

// unavailable wraps a failure to reach the issuer.
func unavailable(cause error) *Error { return ErrUnavailable.with(ErrUnavailable.Description, cause) }

// asError turns any error into an *Error; one that is not is unavailable (the token was
// not judged).
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return unavailable(err)
}

// ErrorResponse is how a refusal is answered over HTTP (RFC 6750 §3): the status, the
// headers (WWW-Authenticate with the verifier's realm on 400, 401 and 403; Cache-Control:
// no-store always) and a JSON body {"error": ..., "error_description": ...}
// (empty when no token was sent). err need not be an *Error: anything else is answered as
// [ErrUnavailable]. Middleware for other frameworks can build on it. Refusals are logged
// at debug level; failures to reach the issuer are logged as warnings where they happen.
func (v *Verifier) ErrorResponse(err error) (status int, header http.Header, body []byte) {
	e := asError(err)
	if e.Status == 0 {
		e = unavailable(err)
	}
	v.log.Debug("resourceserver: request refused", "err", err)
	header = http.Header{}
	header.Set("Cache-Control", "no-store")
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Status == http.StatusBadRequest {
		header.Set("WWW-Authenticate", challenge(v.realm, e))
	}
	if e.Code != "" {
		header.Set("Content-Type", "application/json")
		body, _ = json.Marshal(struct {
			Error       string `json:"error"`
			Description string `json:"error_description,omitempty"`
			Scope       string `json:"scope,omitempty"`
		}{e.Code, e.Description, strings.Join(e.Scopes, " ")})
	}
	return e.Status, header, body
}

// WriteError answers a refused request on w as [Verifier.ErrorResponse] describes.
func (v *Verifier) WriteError(w http.ResponseWriter, err error) {
	status, header, body := v.ErrorResponse(err)
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client may be gone; nothing to do about it
}

// challenge is the WWW-Authenticate value: Bearer realm="...", error="...",
// error_description="...", scope="..." (RFC 6750 §3).
func challenge(realm string, e *Error) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="`)
	b.WriteString(quotable(realm))
	b.WriteByte('"')
	attr := func(name, value string) {
		if value != "" {
			b.WriteString(", " + name + `="` + quotable(value) + `"`)
		}
	}
	attr("error", e.Code)
	if e.Code != "" {
		attr("error_description", e.Description)
	}
	attr("scope", strings.Join(e.Scopes, " "))
	if e.Code == CodeInsufficientUserAuthentication {
		attr("acr_values", strings.Join(e.ACRValues, " "))
		if e.MaxAge >= 0 {
			attr("max_age", strconv.Itoa(e.MaxAge))
		}
	}
	return b.String()
}

// quotable keeps only what RFC 6750 §3 allows inside the quoted attributes
// (%x20-21 / %x23-5B / %x5D-7E): no quotes, backslashes or control characters.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
