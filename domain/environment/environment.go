// Package environment is the environment aggregate: one tenant's isolated world (its host,
// issuer, clients, users and keys) and its settings.
package environment

import (
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
)

// Stream is the event stream of the environment with the given slug. Its uniqueness is
// what makes slugs globally unique: a second create finds the stream taken.
func Stream(slug string) domain.StreamRef {
	return domain.StreamRef{Environment: slug, Stream: "environment/" + slug}
}

// Created is the first event of an environment. SigningAlg (schema v2) is the JWS algorithm
// of every key the environment will have; v1 events have none, which reads as RS256.
type Created struct {
	Environment string   `json:"environment"`
	Account     string   `json:"account"`
	Settings    Settings `json:"settings"`
	SigningAlg  string   `json:"signing_alg,omitempty"`
}

// EventType implements domain.Event.
func (Created) EventType() string { return "environment.created" }

// SettingsChanged records the whole settings after a change.
type SettingsChanged struct {
	Settings Settings `json:"settings"`
}

// EventType implements domain.Event.
func (SettingsChanged) EventType() string { return "environment.settings_changed" }

// State is an environment folded from its events.
type State struct {
	Exists   bool
	Slug     string
	Account  string
	Settings Settings
	// SigningAlg is the algorithm of the environment's keys, fixed at creation (RS256 for
	// environments created before the choice existed).
	SigningAlg string
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
		s.Exists, s.Slug, s.Account, s.Settings = true, e.Environment, e.Account, e.Settings
		s.SigningAlg = SigningAlgOf(e.SigningAlg)
	case SettingsChanged:
		s.Settings = e.Settings
	}
	return s
}

// ErrSlugTaken is returned when an environment with the slug already exists.
var ErrSlugTaken = domain.Exists("environment slug is already taken")

// Create creates an environment under an account, creating the account on first use.
type Create struct {
	Account     string
	Slug        string
	DisplayName string
	// System is set only by Paylent itself, to create the operators' environment
	// (domain.OperatorsEnvironment), whose slug is otherwise reserved.
	System bool
	// SigningAlg is the algorithm of the environment's signing keys: SigningRS256 (the
	// default, when empty) or SigningES256. It cannot change later.
	SigningAlg string
}

// Streams implements domain.Command: the account's stream, then the environment's.
func (c Create) Streams() []domain.StreamRef {
	return []domain.StreamRef{account.Stream(c.Account), Stream(c.Slug)}
}

// Decide implements domain.Command.
func (c Create) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if c.System != (c.Account == domain.OperatorsAccount) || c.System != (c.Slug == domain.OperatorsEnvironment) {
		return nil, domain.Invalid("slug", "%q is reserved", c.Slug)
	}
	accountEvents, err := account.DecideCreate(account.Fold(h[0]), c.Account, "", c.System)
	if err != nil {
		return nil, err
	}
	validate := domain.ValidateSlug
	if c.System {
		validate = domain.ValidateSystemSlug
	}
	if err := validate("slug", c.Slug); err != nil {
		return nil, err
	}
	alg := SigningAlgOf(c.SigningAlg)
	if err := ValidateSigningAlg(alg); err != nil {
		return nil, err
	}
	if Fold(h[1]).Exists {
		return nil, ErrSlugTaken
	}
	name := c.DisplayName
	if name == "" {
		name = c.Slug
	}
	settings := DefaultSettings(name)
	if c.System {
		settings.RegistrationEnabled = false // operators are added by operators, never sign themselves up
	}
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	created := Created{Environment: c.Slug, Account: c.Account, Settings: settings, SigningAlg: alg}
	return [][]domain.Event{accountEvents, {created}}, nil
}

// ChangeSettings applies a settings patch; an unchanged result appends nothing.
type ChangeSettings struct {
	Slug  string
	Patch SettingsPatch
}

// Streams implements domain.Command.
func (c ChangeSettings) Streams() []domain.StreamRef { return []domain.StreamRef{Stream(c.Slug)} }

// Decide implements domain.Command.
func (c ChangeSettings) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	if !s.Exists {
		return nil, domain.ErrNotFound
	}
	next := c.Patch.Apply(s.Settings)
	if err := next.Validate(); err != nil {
		return nil, err
	}
	if next == s.Settings {
		return [][]domain.Event{nil}, nil
	}
	return [][]domain.Event{{SettingsChanged{Settings: next}}}, nil
}
