package domain

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is.
var (
	// ErrNotFound: the aggregate or item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a create met an existing aggregate (a taken slug, a registered email).
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalid: a command's input breaks a rule; the error says which.
	ErrInvalid = errors.New("invalid")
	// ErrUnknownEvent: a stored event type or schema version this build cannot read.
	ErrUnknownEvent = errors.New("unknown event")
	// ErrMalformedEvent: a stored event whose JSON does not decode.
	ErrMalformedEvent = errors.New("malformed event")
	// ErrForbidden: the actor may not do this (it would give more than it holds).
	ErrForbidden = errors.New("forbidden")
)

type forbiddenError struct{ msg string }

func (e *forbiddenError) Error() string { return e.msg }

func (e *forbiddenError) Is(target error) bool { return target == ErrForbidden }

// Forbidden returns an error with its own message that matches ErrForbidden.
func Forbidden(format string, args ...any) error {
	return &forbiddenError{msg: fmt.Sprintf(format, args...)}
}

// ValidationError is a rule broken by one input field. It matches ErrInvalid.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid builds a ValidationError.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

type existsError struct{ msg string }

func (e *existsError) Error() string { return e.msg }

func (e *existsError) Is(target error) bool { return target == ErrAlreadyExists }

// Exists returns an error with its own message that matches ErrAlreadyExists.
func Exists(msg string) error { return &existsError{msg: msg} }
