// Package tokens is the introspection read model: opaque and refresh tokens by hash,
// user-bound tokens by jti, and the revoked jtis (the deny-list of JWTs), each until it
// expires. JWT access tokens of client credentials are not kept (they verify by signature);
// their revocations are.
package tokens

import (
	"sort"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/projections"
)

// Name is the projection's name.
const Name = "tokens"

// pruneEvery is how often (in positions) expired entries are dropped. Pruning happens at
// fixed positions and by event time, never the wall clock, so a rebuild equals the live model.
const pruneEvery = 1024

// pruneGrace is how long past an event's time an entry is kept. Events carry the clock of
// the instance that appended them, faces judge tokens by their own: an instance whose clock
// is ahead must not make the others forget a revoked JWT (the deny-list is all that refuses
// it) while their clocks still find it unexpired.
const pruneGrace = 5 * time.Minute

// Token is what introspection needs to know of a token.
type Token struct {
	JTI         string    `json:"jti"`
	Kind        string    `json:"kind"`
	Format      string    `json:"format"`
	ClientID    string    `json:"client_id"`
	Subject     string    `json:"subject"`
	SubjectKind string    `json:"subject_kind"`
	Scope       string    `json:"scope"`
	Audience    []string  `json:"audience,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	GrantID     string    `json:"grant_id,omitempty"`
	Revoked     bool      `json:"revoked,omitempty"`
	// Superseded: a refresh token that was rotated (presenting it again is reuse).
	Superseded bool `json:"superseded,omitempty"`
	// AuthTime, ACR and AMR: when and how the user signed in (user tokens).
	AuthTime *time.Time `json:"auth_time,omitempty"`
	ACR      string     `json:"acr,omitempty"`
	AMR      []string   `json:"amr,omitempty"`
}

// Active reports whether the token is usable at now.
func (t Token) Active(now time.Time) bool {
	return !t.Revoked && !t.Superseded && now.Before(t.ExpiresAt)
}

// envTokens is one environment's part of the model.
type envTokens struct {
	name   unique.Handle[string] // the environment's name, as expiries refer to it
	tokens map[string]*rec       // jti → token; nil until the environment's first kept token
	// hashed: the environment has had a token with a hash (the snapshot lists its by_hash).
	hashed bool
	// odd maps the hashes that no rec holds (see flagHash) to their jti; empty unless a
	// token's jti is not derived from its hash, or a jti was issued twice.
	odd     map[string]string
	revoked map[string]stamp // the deny-list: jti → expiry; nil until the first revocation
}

// Store is the projection.
type Store struct {
	mu         sync.RWMutex
	envs       map[string]*envTokens
	tokenExp   expiries // when kept tokens expire
	revokedExp expiries // when deny-listed jtis expire
}

var _ projections.Streamer = (*Store)(nil)

// New returns an empty store.
func New() *Store { return &Store{envs: map[string]*envTokens{}} }

// Name implements projections.Projection.
func (s *Store) Name() string { return Name }

// New implements projections.Projection.
func (s *Store) New() projections.Projection { return New() }

func (s *Store) env(name string) *envTokens {
	e := s.envs[name]
	if e == nil {
		e = &envTokens{name: unique.Make(name)}
		s.envs[name] = e
	}
	return e
}

// Apply implements projections.Projection.
func (s *Store) Apply(rec domain.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	env := rec.Environment
	switch e := rec.Event.(type) {
	case token.Issued:
		if e.Format == token.FormatOpaque || e.Kind == token.KindRefresh || e.GrantID != "" {
			s.keep(env, Token{JTI: e.JTI, Kind: e.Kind, Format: e.Format, ClientID: e.ClientID, Subject: e.Subject,
				SubjectKind: e.SubjectKind, Scope: e.Scope, Audience: e.Audience, IssuedAt: e.IssuedAt, ExpiresAt: e.ExpiresAt,
				GrantID: e.GrantID, AuthTime: e.AuthTime, ACR: e.ACR, AMR: e.AMR}, e.TokenHash)
		}
	case token.Revoked:
		s.revoke(env, e.JTI, e.ExpiresAt)
	case grant.Revoked:
		for _, t := range e.Tokens {
			s.revoke(env, t.JTI, t.ExpiresAt)
		}
	case grant.Rotated:
		if r, ok := s.envs[env].lookup(e.From); ok {
			r.flags |= flagSuperseded
		}
	}
	if rec.Position%pruneEvery == 0 {
		s.prune(toStamp(rec.OccurredAt.Add(-pruneGrace)))
	}
	return nil
}

// keep puts t under its jti (replacing a token of the same jti, whose hash stays known)
// and, when it has one, its hash. Called with s.mu held.
func (s *Store) keep(env string, t Token, hash string) {
	e := s.env(env)
	if e.tokens == nil {
		e.tokens = map[string]*rec{}
	}
	r := newRec(t)
	jti := strings.Clone(t.JTI) // the map and the expiry share it, not the event's memory
	if old, ok := e.tokens[jti]; ok {
		r.hash, r.flags = old.hash, r.flags|old.flags&flagHash
	}
	e.tokens[jti] = r
	s.tokenExp.add(r.expires, e.name, jti)
	if hash != "" {
		e.setHash(hash, jti)
	}
}

// setHash records that hash finds jti (whose rec exists), as the by_hash map of the
// snapshot does: in the rec when the jti derives from it and the rec holds no other hash,
// else in odd. A hash names one jti: a former holder lets go.
func (e *envTokens) setHash(hash, jti string) {
	e.hashed = true
	h, hex := parseHash(hash)
	if hex {
		if r := e.tokens[hash[:32]]; r != nil && r.flags&flagHash != 0 && r.hash == h {
			r.flags &^= flagHash
		}
	}
	delete(e.odd, hash)
	if hex && hash[:32] == jti { // the jti derives from the hash (token.HashJTI)
		if r := e.tokens[jti]; r != nil && r.flags&flagHash == 0 {
			r.hash, r.flags = h, r.flags|flagHash
			return
		}
	}
	if e.odd == nil {
		e.odd = map[string]string{}
	}
	e.odd[strings.Clone(hash)] = jti
}

// revoke marks a token revoked and puts its jti on the deny-list. Called with s.mu held.
func (s *Store) revoke(env, jti string, exp time.Time) {
	e := s.env(env)
	if e.revoked == nil {
		e.revoked = map[string]stamp{}
	}
	if r, ok := e.tokens[jti]; ok {
		r.flags |= flagRevoked
	}
	at := toStamp(exp)
	if old, ok := e.revoked[jti]; !ok || old != at {
		jti = strings.Clone(jti)
		e.revoked[jti] = at
		s.revokedExp.add(at, e.name, jti)
	}
}

func (e *envTokens) lookup(jti string) (*rec, bool) {
	if e == nil {
		return nil, false
	}
	r, ok := e.tokens[jti]
	return r, ok
}

// ByHash finds an opaque or refresh token by the SHA-256 hash of its value.
func (s *Store) ByHash(env, hash string) (Token, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.envs[env]
	if e == nil {
		return Token{}, false
	}
	if h, ok := parseHash(hash); ok {
		if r, ok := e.tokens[hash[:32]]; ok && r.flags&flagHash != 0 && r.hash == h {
			return r.token(hash[:32]), true
		}
	}
	jti, ok := e.odd[hash]
	if !ok {
		return Token{}, false
	}
	r, ok := e.tokens[jti]
	if !ok {
		return Token{}, false
	}
	return r.token(jti), true
}

// ByJTI finds a kept token by jti.
func (s *Store) ByJTI(env, jti string) (Token, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.envs[env].lookup(jti)
	if !ok {
		return Token{}, false
	}
	return r.token(jti), true
}

// IsRevoked reports whether the jti was revoked (and would not yet have expired).
func (s *Store) IsRevoked(env, jti string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.envs[env]
	if e == nil {
		return false
	}
	_, ok := e.revoked[jti]
	return ok
}

// GrantsOf lists the grants a user holds with a client (from their live tokens).
func (s *Store) GrantsOf(env, subject, clientID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, r := range s.envs[env].all() {
		if r.grant == "" || seen[r.grant] {
			continue
		}
		if p := r.who.Value(); p.subject == subject && p.client == clientID {
			seen[r.grant] = true
			out = append(out, r.grant)
		}
	}
	sort.Strings(out)
	return out
}

// Held lists what a user or a client holds that has not expired at now and is not revoked:
// the ids of their grants, and the jtis of their kept tokens issued outside any grant
// (opaque client-credentials tokens). An empty subject or clientID matches any.
func (s *Store) Held(env, subject, clientID string, now time.Time) (grants, standalone []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	at := toStamp(now)
	seen := map[string]bool{}
	for jti, r := range s.envs[env].all() {
		if r.flags&flagRevoked != 0 || at >= r.expires || (r.grant != "" && seen[r.grant]) {
			continue
		}
		if p := r.who.Value(); (subject != "" && p.subject != subject) || (clientID != "" && p.client != clientID) {
			continue
		}
		if r.grant == "" {
			standalone = append(standalone, jti)
		} else {
			seen[r.grant] = true
			grants = append(grants, r.grant)
		}
	}
	sort.Strings(grants)
	sort.Strings(standalone)
	return grants, standalone
}

// all is the environment's kept tokens (nil for an environment the model never saw).
func (e *envTokens) all() map[string]*rec {
	if e == nil {
		return nil
	}
	return e.tokens
}
