// Package client is the OAuth client aggregate: an application registered in an
// environment, with its type, grants, redirect URIs, allowed scopes and secret (only ever
// as a SHA-256 hash: secrets are high-entropy and server-generated).
package client

import (
	"errors"
	"slices"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
)

// Type is confidential (has a secret) or public (SPAs, mobile and CLI apps: PKCE only).
type Type string

// Client types.
const (
	Confidential Type = "confidential"
	Public       Type = "public"
)

// Grant types a client may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
)

// Stream is the client's stream.
func Stream(env, id string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "client/" + env + "/" + id}
}

// Settings are what a registration sets and an update replaces.
type Settings struct {
	Name         string   `json:"name"`
	GrantTypes   []string `json:"grant_types"`
	RedirectURIs []string `json:"redirect_uris"`
	// PostLogoutRedirectURIs are where RP-initiated logout may send the browser back.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Scopes                 []string `json:"scopes"`
	// TokenFormat is "jwt" or "opaque"; "" uses the environment's setting.
	TokenFormat environment.TokenFormat `json:"token_format,omitempty"`
	// RefreshRetryWindow (seconds): presenting a just-rotated refresh token again within it
	// returns the same new token instead of revoking the family (mobile clients lose
	// responses). 0 is strict.
	RefreshRetryWindow int64 `json:"refresh_retry_window"`
	// FirstParty clients are the tenant's own applications: their users are not asked for
	// consent (prompt=consent still asks). Confidential clients only: a public client's
	// identity cannot be assured (RFC 8252 §8.6).
	FirstParty bool `json:"first_party,omitempty"`
}

// ErrChanged: a client's settings changed between the caller's read and its update.
var ErrChanged = errors.New("the client's settings changed since they were read")

// Equal reports whether two settings say the same (a nil list equals an empty one).
func (s Settings) Equal(o Settings) bool {
	return s.Name == o.Name && slices.Equal(s.GrantTypes, o.GrantTypes) && slices.Equal(s.RedirectURIs, o.RedirectURIs) &&
		slices.Equal(s.PostLogoutRedirectURIs, o.PostLogoutRedirectURIs) && slices.Equal(s.Scopes, o.Scopes) &&
		s.TokenFormat == o.TokenFormat && s.RefreshRetryWindow == o.RefreshRetryWindow && s.FirstParty == o.FirstParty
}

// Registered is the first event of a client.
type Registered struct {
	ClientID   string   `json:"client_id"`
	Type       Type     `json:"type"`
	Settings   Settings `json:"settings"`
	SecretHash string   `json:"secret_hash,omitempty"`
}

// EventType implements domain.Event.
func (Registered) EventType() string { return "client.registered" }

// Updated replaces a client's settings.
type Updated struct {
	Settings Settings `json:"settings"`
}

// EventType implements domain.Event.
func (Updated) EventType() string { return "client.updated" }

// SecretRotated sets a new secret; the previous one stays valid until PreviousValidUntil.
type SecretRotated struct {
	SecretHash         string    `json:"secret_hash"`
	PreviousSecretHash string    `json:"previous_secret_hash"`
	PreviousValidUntil time.Time `json:"previous_valid_until"`
}

// EventType implements domain.Event.
func (SecretRotated) EventType() string { return "client.secret_rotated" }

// Deleted removes a client.
type Deleted struct{}

// EventType implements domain.Event.
func (Deleted) EventType() string { return "client.deleted" }

// State is a client folded from its events.
type State struct {
	Exists             bool
	Deleted            bool
	ID                 string
	Type               Type
	Settings           Settings
	SecretHash         string
	PreviousSecretHash string
	PreviousValidUntil time.Time
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
	case Registered:
		s = State{Exists: true, ID: e.ClientID, Type: e.Type, Settings: e.Settings, SecretHash: e.SecretHash}
	case Updated:
		s.Settings = e.Settings
	case SecretRotated:
		s.SecretHash, s.PreviousSecretHash, s.PreviousValidUntil = e.SecretHash, e.PreviousSecretHash, e.PreviousValidUntil
	case Deleted:
		s.Exists, s.Deleted = false, true
	}
	return s
}

// Allows reports whether the client may use grant.
func (s Settings) Allows(grant string) bool {
	for _, g := range s.GrantTypes {
		if g == grant {
			return true
		}
	}
	return false
}
