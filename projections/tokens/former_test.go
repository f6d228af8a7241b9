package tokens

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/projections"
)

type formerState struct {
	Tokens  map[string]map[string]Token     `json:"tokens"`  // env → jti → token
	ByHash  map[string]map[string]string    `json:"by_hash"` // env → hash → jti
	Revoked map[string]map[string]time.Time `json:"revoked"` // env → jti → expiry (deny-list)
}

func emptyFormerState() formerState {
	return formerState{Tokens: map[string]map[string]Token{}, ByHash: map[string]map[string]string{},
		Revoked: map[string]map[string]time.Time{}}
}

// former is the model before the compact state (docs/BENCHMARKS.md "Tokens read model at
// scale"): the oracle the compact model is compared with, byte for byte and answer by answer.
type former struct {
	mu sync.RWMutex
	st formerState
}

func newFormer() *former { return &former{st: emptyFormerState()} }

func (s *former) Apply(rec domain.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	env := rec.Environment
	switch e := rec.Event.(type) {
	case token.Issued:
		if e.Format == token.FormatOpaque || e.Kind == token.KindRefresh || e.GrantID != "" {
			projections.Inner(s.st.Tokens, env)[e.JTI] = Token{JTI: e.JTI, Kind: e.Kind, Format: e.Format, ClientID: e.ClientID,
				Subject: e.Subject, SubjectKind: e.SubjectKind, Scope: e.Scope, Audience: e.Audience,
				IssuedAt: e.IssuedAt, ExpiresAt: e.ExpiresAt, GrantID: e.GrantID, AuthTime: e.AuthTime, ACR: e.ACR, AMR: e.AMR}
			if e.TokenHash != "" {
				projections.Inner(s.st.ByHash, env)[e.TokenHash] = e.JTI
			}
		}
	case token.Revoked:
		s.revoke(env, e.JTI, e.ExpiresAt)
	case grant.Revoked:
		for _, t := range e.Tokens {
			s.revoke(env, t.JTI, t.ExpiresAt)
		}
	case grant.Rotated:
		if t, ok := s.st.Tokens[env][e.From]; ok {
			t.Superseded = true
			s.st.Tokens[env][e.From] = t
		}
	}
	if rec.Position%pruneEvery == 0 {
		s.prune(rec.OccurredAt.Add(-pruneGrace)) // the compact model's one change of rule
	}
	return nil
}

// revoke marks a token revoked and puts its jti on the deny-list. Called with s.mu held.
func (s *former) revoke(env, jti string, exp time.Time) {
	projections.Inner(s.st.Revoked, env)[jti] = exp
	if t, ok := s.st.Tokens[env][jti]; ok {
		t.Revoked = true
		s.st.Tokens[env][jti] = t
	}
}

// prune drops what expired before t. Called with s.mu held.
func (s *former) prune(t time.Time) {
	for env, toks := range s.st.Tokens {
		for jti, tok := range toks {
			if tok.ExpiresAt.Before(t) {
				delete(toks, jti)
			}
		}
		for h, jti := range s.st.ByHash[env] {
			if _, ok := toks[jti]; !ok {
				delete(s.st.ByHash[env], h)
			}
		}
	}
	for _, revoked := range s.st.Revoked {
		for jti, exp := range revoked {
			if exp.Before(t) {
				delete(revoked, jti)
			}
		}
	}
}

func (s *former) Snapshot() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return json.Marshal(s.st)
}

func (s *former) Restore(b []byte) error {
	st := emptyFormerState()
	if len(b) > 0 {
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("restore tokens: %w", err)
		}
		if st.Tokens == nil || st.ByHash == nil || st.Revoked == nil {
			return fmt.Errorf("restore tokens: incomplete snapshot")
		}
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return nil
}

// ByHash finds an opaque or refresh token by the SHA-256 hash of its value.
func (s *former) ByHash(env, hash string) (Token, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	jti, ok := s.st.ByHash[env][hash]
	if !ok {
		return Token{}, false
	}
	t, ok := s.st.Tokens[env][jti]
	return t, ok
}

// ByJTI finds a kept token by jti.
func (s *former) ByJTI(env, jti string) (Token, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.st.Tokens[env][jti]
	return t, ok
}

// IsRevoked reports whether the jti was revoked (and would not yet have expired).
func (s *former) IsRevoked(env, jti string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.st.Revoked[env][jti]
	return ok
}

// GrantsOf lists the grants a user holds with a client (from their live tokens).
func (s *former) GrantsOf(env, subject, clientID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, t := range s.st.Tokens[env] {
		if t.GrantID != "" && t.Subject == subject && t.ClientID == clientID && !seen[t.GrantID] {
			seen[t.GrantID] = true
			out = append(out, t.GrantID)
		}
	}
	sort.Strings(out)
	return out
}

// Held lists what a user or a client holds that has not expired at now and is not revoked:
// the ids of their grants, and the jtis of their kept tokens issued outside any grant
// (opaque client-credentials tokens). An empty subject or clientID matches any.
func (s *former) Held(env, subject, clientID string, now time.Time) (grants, standalone []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[string]bool{}
	for _, t := range s.st.Tokens[env] {
		if (subject != "" && t.Subject != subject) || (clientID != "" && t.ClientID != clientID) || t.Revoked || !now.Before(t.ExpiresAt) {
			continue
		}
		switch {
		case t.GrantID == "":
			standalone = append(standalone, t.JTI)
		case !seen[t.GrantID]:
			seen[t.GrantID] = true
			grants = append(grants, t.GrantID)
		}
	}
	sort.Strings(grants)
	sort.Strings(standalone)
	return grants, standalone
}
