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

// OperatorAdded makes a user of the operators' environment an operator of the account: they
// may sign in to the dashboard and manage the account's environments.
type OperatorAdded struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

// EventType implements domain.Event.
func (OperatorAdded) EventType() string { return "account.operator_added" }

// OperatorRemoved takes an operator's access to the account away.
type OperatorRemoved struct {
	UserID string `json:"user_id"`
}

// EventType implements domain.Event.
func (OperatorRemoved) EventType() string { return "account.operator_removed" }

// State is an account folded from its events.
type State struct {
	Exists    bool
	Slug      string
	Name      string
	Operators map[string]bool
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
	switch e := e.(type) {
	case Created:
		s.Exists, s.Slug, s.Name = true, e.Account, e.Name
	case OperatorAdded:
		ops := make(map[string]bool, len(s.Operators)+1)
		for id := range s.Operators {
			ops[id] = true
		}
		ops[e.UserID] = true
		s.Operators = ops
	case OperatorRemoved:
		ops := make(map[string]bool, len(s.Operators))
		for id := range s.Operators {
			if id != e.UserID {
				ops[id] = true
			}
		}
		s.Operators = ops
	}
	return s
}

// DecideCreate returns the events that create account slug, none when it already exists
// (creating an account is idempotent: environments name it and create it on first use).
// Only the system may create the operators' account (system true).
func DecideCreate(s State, slug, name string, system bool) ([]domain.Event, error) {
	validate := domain.ValidateSlug
	if system {
		validate = domain.ValidateSystemSlug
	}
	if err := validate("account", slug); err != nil {
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
	evs, err := DecideCreate(Fold(h[0]), c.Slug, c.Name, false)
	return [][]domain.Event{evs}, err
}

// AddOperator makes a user of the operators' environment an operator of an existing
// account; adding an operator twice appends nothing.
type AddOperator struct {
	Account string
	UserID  string
	Email   string
}

// Streams implements domain.Command.
func (c AddOperator) Streams() []domain.StreamRef { return []domain.StreamRef{Stream(c.Account)} }

// Decide implements domain.Command.
func (c AddOperator) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	switch {
	case !s.Exists:
		return nil, domain.ErrNotFound
	case c.Account == domain.OperatorsAccount:
		// Its environment holds every operator and the dashboard's own client: operating it
		// would let one account reach all others.
		return nil, domain.Invalid("account", "the operators' account %q has no operators", c.Account)
	case c.UserID == "":
		return nil, domain.Invalid("user_id", "is required")
	case s.Operators[c.UserID]:
		return [][]domain.Event{nil}, nil
	}
	return [][]domain.Event{{OperatorAdded{UserID: c.UserID, Email: c.Email}}}, nil
}

// ErrLastOperator: an account keeps at least one operator, or nobody could manage it.
var ErrLastOperator = domain.Invalid("operator", "an account keeps at least one operator: add another before removing this one")

// RemoveOperator takes an operator's access to the account away.
type RemoveOperator struct {
	Account string
	UserID  string
}

// Streams implements domain.Command.
func (c RemoveOperator) Streams() []domain.StreamRef { return []domain.StreamRef{Stream(c.Account)} }

// Decide implements domain.Command.
func (c RemoveOperator) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	switch {
	case !s.Exists || !s.Operators[c.UserID]:
		return nil, domain.ErrNotFound
	case len(s.Operators) == 1:
		return nil, ErrLastOperator
	}
	return [][]domain.Event{{OperatorRemoved{UserID: c.UserID}}}, nil
}
