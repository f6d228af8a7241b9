// Package scope is the custom scope aggregate: a permission an environment defines
// ("read:documents") with the description its consent page shows. The standard OpenID
// Connect scopes exist in every environment without events (domain/oauth).
package scope

import (
	"time"
	"unicode/utf8"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/resource"
)

// Stream is the scope's stream: its name is its identity within the environment.
func Stream(env, name string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "scope/" + env + "/" + name}
}

// Created is the first event of a custom scope. API is the identifier of the API the scope
// belongs to ("" for none).
type Created struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	API         string `json:"api,omitempty"`
}

// EventType implements domain.Event.
func (Created) EventType() string { return "scope.created" }

// Deleted removes a custom scope.
type Deleted struct {
	Name string `json:"name"`
}

// EventType implements domain.Event.
func (Deleted) EventType() string { return "scope.deleted" }

// Updated records a custom scope's new description and API (both as they are after the
// change; API "" for none). The name is the scope's identity and never changes.
type Updated struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	API         string `json:"api,omitempty"`
}

// EventType implements domain.Event.
func (Updated) EventType() string { return "scope.updated" }

// State is a scope folded from its events.
type State struct {
	Exists      bool
	Description string
	API         string
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		switch e := e.(type) {
		case Created:
			s = State{Exists: true, Description: e.Description, API: e.API}
		case Updated:
			s.Description, s.API = e.Description, e.API
		case Deleted:
			s = State{}
		}
	}
	return s
}

// ErrExists: the environment already has a scope with the name.
var ErrExists = domain.Exists("a scope with this name already exists")

// Create creates a custom scope, optionally owned by an API.
type Create struct {
	Environment string
	Name        string
	Description string
	API         string
}

// Streams implements domain.Command: the scope, its environment and (when given) its API,
// both read to check that they exist.
func (c Create) Streams() []domain.StreamRef {
	refs := []domain.StreamRef{Stream(c.Environment, c.Name), environment.Stream(c.Environment)}
	if c.API != "" {
		refs = append(refs, resource.Stream(c.Environment, c.API))
	}
	return refs
}

// Decide implements domain.Command.
func (c Create) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if err := ValidateName(c.Name); err != nil {
		return nil, err
	}
	if !environment.Fold(h[1]).Exists {
		return nil, domain.ErrNotFound
	}
	if c.API != "" && !resource.Fold(h[2]).Exists {
		return nil, domain.Invalid("api", "no API with identifier %q in this environment", c.API)
	}
	if err := validateDescription(c.Description); err != nil {
		return nil, err
	}
	if Fold(h[0]).Exists {
		return nil, ErrExists
	}
	out := make([][]domain.Event, len(h))
	out[0] = []domain.Event{Created{Name: c.Name, Description: c.Description, API: c.API}}
	return out, nil
}

func validateDescription(d string) error {
	if n := utf8.RuneCountInString(d); n < 1 || n > 200 || !utf8.ValidString(d) {
		return domain.Invalid("description", "must be 1 to 200 characters")
	}
	return nil
}

// ValidateName checks a custom scope's name.
func ValidateName(name string) error {
	switch {
	case !oauth.ValidScopeName(name):
		return domain.Invalid("name", "must be 1 to %d characters of letters, digits and \":._-/\"", oauth.MaxScopeName)
	case oauth.IsStandard(name):
		return domain.Invalid("name", "%q is a standard scope and exists in every environment", name)
	}
	return nil
}

// Delete deletes a custom scope. Standard scopes cannot be deleted.
type Delete struct {
	Environment string
	Name        string
}

// Streams implements domain.Command.
func (c Delete) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.Name)}
}

// Decide implements domain.Command.
func (c Delete) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if oauth.IsStandard(c.Name) {
		return nil, domain.Invalid("name", "standard scopes cannot be deleted")
	}
	if !Fold(h[0]).Exists {
		return nil, domain.ErrNotFound
	}
	return [][]domain.Event{{Deleted{Name: c.Name}}}, nil
}

// Update changes a custom scope's description and the API it belongs to: the fields that
// are set (API set to "" takes the scope out of its API). Standard scopes cannot be
// changed. A change that changes nothing appends nothing.
type Update struct {
	Environment string
	Name        string
	Description *string
	API         *string
}

// Streams implements domain.Command: the scope and, when it moves to an API, that API (read
// to check that it exists).
func (c Update) Streams() []domain.StreamRef {
	refs := []domain.StreamRef{Stream(c.Environment, c.Name)}
	if c.API != nil && *c.API != "" {
		refs = append(refs, resource.Stream(c.Environment, *c.API))
	}
	return refs
}

// Decide implements domain.Command.
func (c Update) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if oauth.IsStandard(c.Name) {
		return nil, domain.Invalid("name", "standard scopes cannot be changed")
	}
	s := Fold(h[0])
	if !s.Exists {
		return nil, domain.ErrNotFound
	}
	next := Updated{Name: c.Name, Description: s.Description, API: s.API}
	if c.Description != nil {
		if err := validateDescription(*c.Description); err != nil {
			return nil, err
		}
		next.Description = *c.Description
	}
	if c.API != nil {
		if *c.API != "" && !resource.Fold(h[1]).Exists {
			return nil, domain.Invalid("api", "no API with identifier %q in this environment", *c.API)
		}
		next.API = *c.API
	}
	out := make([][]domain.Event, len(h))
	if next.Description != s.Description || next.API != s.API {
		out[0] = []domain.Event{next}
	}
	return out, nil
}
