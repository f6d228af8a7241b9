// Package account is the tenant account aggregate: the owner of environments.
package account

import (
	"time"

	"github.com/paylent/paylent/domain"
)

// Stream is the event stream of the account with the given slug. Accounts live in the
// system pseudo-environment.
func Stream(slug string) domain.StreamRef {
	return domain.StreamRef{Environment: domain.SystemEnvironment, Stream: "account/" + slug}
}

// Created is the first event of an account.
type Created struct {
	Account string `json:"account"`
	Name    string `json:"name"`
}

// EventType implements domain.Event.
func (Created) EventType() string { return "account.created" }

// State is an account folded from its events.
type State struct {
	Exists bool
	Slug   string
	Name   string
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		s = s.Apply(e)
	}
	return s
}

// Apply returns the state after e.
func (s State) Apply(e domain.Event) State {
	if c, ok := e.(Created); ok {
		s.Exists, s.Slug, s.Name = true, c.Account, c.Name
	}
	return s
}

// DecideCreate returns the events that create account slug, none when it already exists
// (creating an account is idempotent: environments name it and create it on first use).
func DecideCreate(s State, slug, name string) ([]domain.Event, error) {
	if err := domain.ValidateSlug("account", slug); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, nil
	}
	if name == "" {
		name = slug
	}
	if len(name) > 100 {
		return nil, domain.Invalid("name", "must be at most 100 characters")
	}
	return []domain.Event{Created{Account: slug, Name: name}}, nil
}

// Create creates an account if it does not exist yet.
type Create struct {
	Slug string
	Name string
}

// Streams implements domain.Command.
func (c Create) Streams() []domain.StreamRef { return []domain.StreamRef{Stream(c.Slug)} }

// Decide implements domain.Command.
func (c Create) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	evs, err := DecideCreate(Fold(h[0]), c.Slug, c.Name)
	return [][]domain.Event{evs}, err
}
