// Package resource is the API (resource server) aggregate: a name and an identifier (an
// absolute URI, unique per environment, immutable) that access tokens name in their aud
// claim, and which custom scopes belong to. Resource APIs check that a token's audience is
// their identifier, so a token for one API is refused by every other.
package resource

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
)

// Stream is an API's stream, named by its identifier's hash.
func Stream(env, identifier string) domain.StreamRef {
	sum := sha256.Sum256([]byte(identifier))
	return domain.StreamRef{Environment: env, Stream: "resource/" + env + "/" + hex.EncodeToString(sum[:16])}
}

// Created registers an API.
type Created struct {
	Identifier string `json:"identifier"`
	Name       string `json:"name"`
}

// EventType implements domain.Event.
func (Created) EventType() string { return "resource.created" }

// State is an API folded from its events.
type State struct {
	Exists     bool
	Identifier string
	Name       string
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		if c, ok := e.(Created); ok {
			s = State{Exists: true, Identifier: c.Identifier, Name: c.Name}
		}
	}
	return s
}

// ErrExists: the environment has an API with the identifier.
var ErrExists = domain.Exists("an API with this identifier already exists")

// ValidateIdentifier checks an API identifier: an absolute URI with a host, no fragment, no
// user information, at most 500 characters (e.g. https://api.example.com, http://localhost:4100).
func ValidateIdentifier(id string) error {
	u, err := url.Parse(id)
	switch {
	case id == "" || len(id) > 500 || err != nil:
		return domain.Invalid("identifier", "must be an absolute URI of at most 500 characters")
	case !u.IsAbs() || u.Host == "":
		return domain.Invalid("identifier", "must be an absolute URI with a host, e.g. https://api.example.com")
	case u.Fragment != "" || strings.Contains(id, "#") || u.User != nil:
		return domain.Invalid("identifier", "must not have a fragment or user information")
	case strings.ContainsAny(id, " \t\r\n"):
		return domain.Invalid("identifier", "must not contain spaces")
	}
	return nil
}

// Create registers an API in an environment.
type Create struct {
	Environment string
	Identifier  string
	Name        string
}

// Streams implements domain.Command: the API, and its environment (read).
func (c Create) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.Identifier), environment.Stream(c.Environment)}
}

// Decide implements domain.Command.
func (c Create) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if err := ValidateIdentifier(c.Identifier); err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(c.Name); n < 1 || n > 100 {
		return nil, domain.Invalid("name", "must be 1 to 100 characters")
	}
	if !environment.Fold(h[1]).Exists {
		return nil, domain.ErrNotFound
	}
	if Fold(h[0]).Exists {
		return nil, ErrExists
	}
	return [][]domain.Event{{Created{Identifier: c.Identifier, Name: c.Name}}, nil}, nil
}
