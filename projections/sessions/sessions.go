// Package sessions is the read model of login sessions (by id, which derives from the
// cookie token's hash; and per user) and of remembered consents.
package sessions

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
	"github.com/paylent/paylent/domain/consent"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/projections"
)

// Name is the projection's name.
const Name = "sessions"

// pruneEvery: ended sessions are dropped at fixed positions, by event time (deterministic).
const pruneEvery = 1024

// Session as the read model shows it.
type Session struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	TokenHash    string    `json:"token_hash"`
	IP           string    `json:"ip,omitempty"`
	UserAgent    string    `json:"user_agent,omitempty"`
	AuthTime     time.Time `json:"auth_time"`
	LastActivity time.Time `json:"last_activity"`
	ExpiresAt    time.Time `json:"expires_at"`
	Revoked      bool      `json:"revoked,omitempty"`
	AMR          []string  `json:"amr,omitempty"`
	ACR          string    `json:"acr,omitempty"`
}

// Active reports whether the session may authorize anything at now.
func (s Session) Active(now time.Time) bool { return !s.Revoked && now.Before(s.ExpiresAt) }

type state struct {
	Sessions map[string]map[string]Session `json:"sessions"` // env → id → session
	Consents map[string]map[string]string  `json:"consents"` // env → user/client → scope
}

// Store is the projection.
type Store struct {
	mu sync.RWMutex
	st state
}

var _ projections.Projection = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{st: state{Sessions: map[string]map[string]Session{}, Consents: map[string]map[string]string{}}}
}

// Name implements projections.Projection.
func (s *Store) Name() string { return Name }

// New implements projections.Projection.
func (s *Store) New() projections.Projection { return New() }

// Apply implements projections.Projection.
func (s *Store) Apply(rec domain.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	env := rec.Environment
	switch e := rec.Event.(type) {
	case session.Started:
		amr, acr := e.Methods()
		projections.Inner(s.st.Sessions, env)[e.SessionID] = Session{ID: e.SessionID, UserID: e.UserID, TokenHash: e.TokenHash, IP: e.IP,
			UserAgent: e.UserAgent, AuthTime: e.AuthTime, LastActivity: e.AuthTime, ExpiresAt: e.ExpiresAt, AMR: amr, ACR: acr}
	case session.Touched:
		s.update(env, rec.Stream, func(x *Session) { x.LastActivity = e.At })
	case session.Revoked:
		s.update(env, rec.Stream, func(x *Session) { x.Revoked = true })
	case consent.Granted:
		projections.Inner(s.st.Consents, env)[e.UserID+"/"+e.ClientID] = e.Scope
	case consent.Revoked:
		delete(projections.Inner(s.st.Consents, env), e.UserID+"/"+e.ClientID)
	}
	if rec.Position%pruneEvery == 0 {
		for _, sessions := range s.st.Sessions {
			for id, x := range sessions {
				if !x.Active(rec.OccurredAt) {
					delete(sessions, id)
				}
			}
		}
	}
	return nil
}

func (s *Store) update(env, stream string, f func(*Session)) {
	id := stream[strings.LastIndexByte(stream, '/')+1:]
	if x, ok := s.st.Sessions[env][id]; ok {
		f(&x)
		s.st.Sessions[env][id] = x
	}
}

// Snapshot implements projections.Projection.
func (s *Store) Snapshot() ([]byte, error) { return projections.SnapshotBytes(s) }

// WriteSnapshot implements projections.Streamer: one session or consent at a time, under
// the read lock for that entry only.
func (s *Store) WriteSnapshot(w io.Writer) error {
	e := projections.NewSnapshotEncoder(w, s.mu.RLocker())
	projections.EncodeNested(e, "sessions", s.st.Sessions)
	projections.EncodeNested(e, "consents", s.st.Consents)
	return e.Close()
}

// Restore implements projections.Projection.
func (s *Store) Restore(b []byte) error { return s.RestoreFrom(bytes.NewReader(b)) }

// RestoreFrom implements projections.Streamer. A snapshot without both members is refused.
func (s *Store) RestoreFrom(r io.Reader) error {
	st := state{Sessions: map[string]map[string]Session{}, Consents: map[string]map[string]string{}}
	seen := 0
	dec := json.NewDecoder(r)
	err := projections.DecodeObject(dec, map[string]func(*json.Decoder) error{
		"sessions": func(d *json.Decoder) error { seen++; return projections.DecodeNested(d, st.Sessions) },
		"consents": func(d *json.Decoder) error { seen++; return projections.DecodeNested(d, st.Consents) },
	})
	if err != nil {
		return fmt.Errorf("restore sessions: %w", err)
	}
	if dec.InputOffset() > 0 && seen != 2 { // nothing at all is the empty state
		return fmt.Errorf("restore sessions: incomplete snapshot")
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return nil
}

// ByTokenHash finds a session by its cookie token's hash.
func (s *Store) ByTokenHash(env, hash string) (Session, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	x, ok := s.st.Sessions[env][session.ID(hash)]
	if !ok || x.TokenHash != hash {
		return Session{}, false
	}
	return x, true
}

// ByID finds a session by id.
func (s *Store) ByID(env, id string) (Session, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	x, ok := s.st.Sessions[env][id]
	return x, ok
}

// OfUser lists a user's sessions, newest first.
func (s *Store) OfUser(env, userID string) []Session {
	s.mu.RLock()
	var out []Session
	for _, x := range s.st.Sessions[env] {
		if x.UserID == userID {
			out = append(out, x)
		}
	}
	s.mu.RUnlock()
	sortNewestFirst(out)
	return out
}

// Consent returns the scopes a user approved for a client.
func (s *Store) Consent(env, userID, clientID string) oauth.Scopes {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return oauth.NewScopes(strings.Fields(s.st.Consents[env][userID+"/"+clientID])...)
}

// All lists an environment's sessions, newest first.
func (s *Store) All(env string) []Session {
	s.mu.RLock()
	out := make([]Session, 0, len(s.st.Sessions[env]))
	for _, x := range s.st.Sessions[env] {
		out = append(out, x)
	}
	s.mu.RUnlock()
	sortNewestFirst(out)
	return out
}

// sortNewestFirst orders sessions by sign-in time, newest first; sessions started in the
// same second (times are kept to the second) by id, so every answer lists them alike.
func sortNewestFirst(list []Session) {
	sort.Slice(list, func(i, j int) bool {
		if !list[i].AuthTime.Equal(list[j].AuthTime) {
			return list[i].AuthTime.After(list[j].AuthTime)
		}
		return list[i].ID < list[j].ID
	})
}

// ConsentsOf returns a user's remembered consents by client.
func (s *Store) ConsentsOf(env, userID string) map[string][]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string][]string{}
	for key, scope := range s.st.Consents[env] {
		if u, c, ok := strings.Cut(key, "/"); ok && u == userID {
			out[c] = strings.Fields(scope)
		}
	}
	return out
}

// ActiveIDs are the ids of the sessions that are active at now.
func ActiveIDs(list []Session, now time.Time) []string {
	var ids []string
	for _, s := range list {
		if s.Active(now) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}
