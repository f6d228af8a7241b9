// Package catalog is the read model of accounts and environments (and, as they arrive,
// clients, scopes, users and signing keys): small, read on every request, kept in memory.
package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/projections"
)

// Account as the catalog shows it.
type Account struct {
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// Operators are the users of the operators' environment who manage the account, by id
	// (the value is their email when they were added).
	Operators map[string]string `json:"operators,omitempty"`
}

// Environment as the catalog shows it.
type Environment struct {
	Slug     string               `json:"slug"`
	Account  string               `json:"account"`
	Settings environment.Settings `json:"settings"`
	// SigningAlg is the algorithm of the environment's keys when it is not RS256 ("" for
	// RS256: checkpoints of RS256 environments keep their former encoding).
	SigningAlg string    `json:"signing_alg,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Position is the position of the environment's latest event.
	Position int64 `json:"position"`
}

type state struct {
	Accounts     map[string]Account     `json:"accounts"`
	Environments map[string]Environment `json:"environments"`
	// Per environment, by id or name.
	Clients    map[string]map[string]Client `json:"clients"`
	Scopes     map[string]map[string]Scope  `json:"scopes"`
	Users      map[string]map[string]User   `json:"users"`
	UserEmails map[string]map[string]string `json:"user_emails"`
	APIs       map[string]map[string]API    `json:"apis"`
}

func emptyState() state {
	return state{Accounts: map[string]Account{}, Environments: map[string]Environment{},
		Clients: map[string]map[string]Client{}, Scopes: map[string]map[string]Scope{},
		Users: map[string]map[string]User{}, UserEmails: map[string]map[string]string{}, APIs: map[string]map[string]API{}}
}

// Catalog is the projection. Its zero value is not ready; use New.
type Catalog struct {
	mu sync.RWMutex
	st state
}

var _ projections.Projection = (*Catalog)(nil)

// Name is the projection name.
const Name = "catalog"

// New returns an empty catalog.
func New() *Catalog { return &Catalog{st: emptyState()} }

// Name implements projections.Projection.
func (c *Catalog) Name() string { return Name }

// New implements projections.Projection.
func (c *Catalog) New() projections.Projection { return New() }

// Apply implements projections.Projection.
func (c *Catalog) Apply(rec domain.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e := rec.Event.(type) {
	case account.Created:
		c.st.Accounts[e.Account] = Account{Slug: e.Account, Name: e.Name, CreatedAt: rec.OccurredAt}
	case account.OperatorAdded, account.OperatorRemoved:
		c.applyOperator(rec)
	case environment.Created:
		alg := e.SigningAlg
		if alg == environment.SigningRS256 {
			alg = ""
		}
		c.st.Environments[e.Environment] = Environment{Slug: e.Environment, Account: e.Account, Settings: e.Settings,
			SigningAlg: alg, CreatedAt: rec.OccurredAt, UpdatedAt: rec.OccurredAt, Position: rec.Position}
	case environment.SettingsChanged:
		env, ok := c.st.Environments[rec.Environment]
		if !ok {
			return fmt.Errorf("settings changed for unknown environment %s", rec.Environment)
		}
		env.Settings, env.UpdatedAt, env.Position = e.Settings, rec.OccurredAt, rec.Position
		c.st.Environments[rec.Environment] = env
	default:
		return c.applyEnvironmentScoped(rec)
	}
	return nil
}

// Snapshot implements projections.Projection (maps in sorted order: deterministic).
func (c *Catalog) Snapshot() ([]byte, error) { return projections.SnapshotBytes(c) }

// WriteSnapshot implements projections.Streamer: one entry at a time, under the read lock
// for that entry only.
func (c *Catalog) WriteSnapshot(w io.Writer) error {
	e := projections.NewSnapshotEncoder(w, c.mu.RLocker())
	projections.EncodeMap(e, "accounts", c.st.Accounts)
	projections.EncodeMap(e, "environments", c.st.Environments)
	projections.EncodeNested(e, "clients", c.st.Clients)
	projections.EncodeNested(e, "scopes", c.st.Scopes)
	projections.EncodeNested(e, "users", c.st.Users)
	projections.EncodeNested(e, "user_emails", c.st.UserEmails)
	projections.EncodeNested(e, "apis", c.st.APIs)
	return e.Close()
}

// CheckpointFormat implements projections.Formatted. Format 2 keeps each user's
// sign_ins_ended_at, which a format-1 checkpoint dropped: one restored would read every
// earlier factor reset as never made.
func (c *Catalog) CheckpointFormat() int { return 2 }

// Restore implements projections.Projection.
func (c *Catalog) Restore(b []byte) error { return c.RestoreFrom(bytes.NewReader(b)) }

// RestoreFrom implements projections.Streamer.
func (c *Catalog) RestoreFrom(r io.Reader) error {
	st := emptyState()
	err := projections.DecodeObject(json.NewDecoder(r), map[string]func(*json.Decoder) error{
		"accounts":     func(d *json.Decoder) error { return projections.DecodeMap(d, st.Accounts) },
		"environments": func(d *json.Decoder) error { return projections.DecodeMap(d, st.Environments) },
		"clients":      func(d *json.Decoder) error { return projections.DecodeNested(d, st.Clients) },
		"scopes":       func(d *json.Decoder) error { return projections.DecodeNested(d, st.Scopes) },
		"users":        func(d *json.Decoder) error { return projections.DecodeNested(d, st.Users) },
		"user_emails":  func(d *json.Decoder) error { return projections.DecodeNested(d, st.UserEmails) },
		"apis":         func(d *json.Decoder) error { return projections.DecodeNested(d, st.APIs) },
	})
	if err != nil {
		return fmt.Errorf("restore catalog: %w", err)
	}
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
	return nil
}

// Environment returns the environment with the given slug.
func (c *Catalog) Environment(slug string) (Environment, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.st.Environments[slug]
	return e, ok
}

// Environments lists every environment, by slug; account "" means all accounts.
func (c *Catalog) Environments(acct string) []Environment {
	c.mu.RLock()
	out := make([]Environment, 0, len(c.st.Environments))
	for _, e := range c.st.Environments {
		if acct == "" || e.Account == acct {
			out = append(out, e)
		}
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// applyOperator records an account's operators (accounts live in the system environment,
// their stream is account/<slug>).
func (c *Catalog) applyOperator(rec domain.Record) {
	slug := strings.TrimPrefix(rec.Stream, "account/")
	a := c.st.Accounts[slug]
	ops := make(map[string]string, len(a.Operators)+1)
	for id, email := range a.Operators {
		ops[id] = email
	}
	switch e := rec.Event.(type) {
	case account.OperatorAdded:
		ops[e.UserID] = e.Email
	case account.OperatorRemoved:
		delete(ops, e.UserID)
	}
	a.Operators = ops
	c.st.Accounts[slug] = a
}

// OperatorAccounts lists the accounts that a user of the operators' environment operates.
func (c *Catalog) OperatorAccounts(userID string) []Account {
	c.mu.RLock()
	var out []Account
	for _, a := range c.st.Accounts {
		if _, ok := a.Operators[userID]; ok {
			out = append(out, a)
		}
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// Account returns the account with the given slug.
func (c *Catalog) Account(slug string) (Account, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.st.Accounts[slug]
	return a, ok
}
