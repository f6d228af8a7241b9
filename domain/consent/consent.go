// Package consent remembers what a user approved for a client: a later request for the same
// or fewer scopes skips the consent page; a wider one asks again.
package consent

import (
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/oauth"
)

// Stream is the consent of one user for one client.
func Stream(env, userID, clientID string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "consent/" + env + "/" + userID + "/" + clientID}
}

// Granted records the scopes remembered after an approval (the union of all approvals).
type Granted struct {
	UserID   string `json:"user_id"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// EventType implements domain.Event.
func (Granted) EventType() string { return "consent.granted" }

// Revoked forgets a consent (the client's grants for the user are revoked with it).
type Revoked struct {
	UserID   string `json:"user_id"`
	ClientID string `json:"client_id"`
}

// EventType implements domain.Event.
func (Revoked) EventType() string { return "consent.revoked" }

// State is a consent folded from its events.
type State struct {
	Scopes oauth.Scopes
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		switch e := e.(type) {
		case Granted:
			s.Scopes = oauth.NewScopes(strings.Fields(e.Scope)...)
		case Revoked:
			s.Scopes = nil
		}
	}
	return s
}

// Covers reports whether the remembered consent includes every requested scope.
func (s State) Covers(requested oauth.Scopes) bool {
	_, ok := requested.SubsetOf(s.Scopes)
	return ok && len(s.Scopes) > 0
}

// Grant records an approval of scopes.
type Grant struct {
	Environment string
	UserID      string
	ClientID    string
	Scopes      oauth.Scopes
}

// Streams implements domain.Command.
func (c Grant) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.UserID, c.ClientID)}
}

// Decide implements domain.Command.
func (c Grant) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if c.UserID == "" || c.ClientID == "" || len(c.Scopes) == 0 {
		return nil, domain.Invalid("consent", "user, client and scopes are required")
	}
	s := Fold(h[0])
	if s.Covers(c.Scopes) {
		return [][]domain.Event{nil}, nil
	}
	all := oauth.NewScopes(append(append([]string{}, s.Scopes...), c.Scopes...)...)
	return [][]domain.Event{{Granted{UserID: c.UserID, ClientID: c.ClientID, Scope: all.String()}}}, nil
}

// Revoke forgets a consent.
type Revoke struct {
	Environment string
	UserID      string
	ClientID    string
}

// Streams implements domain.Command.
func (c Revoke) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.UserID, c.ClientID)}
}

// Decide implements domain.Command.
func (c Revoke) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if len(Fold(h[0]).Scopes) == 0 {
		return nil, domain.ErrNotFound
	}
	return [][]domain.Event{{Revoked{UserID: c.UserID, ClientID: c.ClientID}}}, nil
}
