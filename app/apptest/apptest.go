// Package apptest is the operations layer's in-process harness: the in-memory event store,
// the command loop, and the read models applied synchronously (each appended event is
// folded into them before the append returns), so operations and flows get table tests
// that run in milliseconds.
package apptest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/projections/tokens"
)

// MasterKey seals the harness's signing keys.
var MasterKey = []byte("apptest master key, 32 bytes...!")

// Harness is one in-process Paylent below the faces.
type Harness struct {
	App      *app.App
	Store    *Store
	Loop     *eventstore.Loop
	Registry *domain.Registry
	Catalog  *catalog.Catalog
	Tokens   *tokens.Store
	Sessions *sessions.Store
	Keys     *keys.Keyring
	// Ready is a waiter that every read model satisfies (they are applied synchronously).
	Ready app.Waiter
	// Issued counts the access tokens the flows report (the App's TokenObserver).
	Issued *IssuedTokens
}

// IssuedTokens is a TokenObserver that counts tokens by "grant/format".
type IssuedTokens struct {
	mu sync.Mutex
	n  map[string]int
}

// TokenIssued implements app.TokenObserver.
func (c *IssuedTokens) TokenIssued(grant, format string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[grant+"/"+format]++
}

// Counts returns a copy of the counts by "grant/format".
func (c *IssuedTokens) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// New returns a harness with an empty log. Password hashing uses cheap Argon2id
// parameters: the policy is what the tests are about, not the cost.
func New(t testing.TB) *Harness {
	t.Helper()
	reg := eventtypes.Registry()
	h := &Harness{Registry: reg, Catalog: catalog.New(), Tokens: tokens.New(), Sessions: sessions.New(), Keys: keys.New(MasterKey)}
	h.Store = &Store{Memory: eventstore.NewMemory(), registry: reg,
		models: []projections.Projection{h.Catalog, h.Tokens, h.Sessions, h.Keys}}
	h.Ready = h.Store
	h.Loop = eventstore.NewLoop(h.Store, reg, time.Now)
	h.Issued = &IssuedTokens{}
	h.App = h.AppWith(secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}}))
	return h
}

// AppWith is another instance's App over the harness's log and read models, hashing
// passwords with hasher (e.g. an older version's Argon2id parameters); set changes its
// other options (e.g. RenewPasswordHashes).
func (h *Harness) AppWith(hasher *secret.Hasher, set ...func(*app.Options)) *app.App {
	o := app.Options{Loop: h.Loop, MasterKey: MasterKey, Registry: h.Registry, Observer: h.Issued, Hasher: hasher,
		ReadModels: app.ReadModels{Head: h.Store, Catalog: h.Catalog, CatalogReady: h.Store, Tokens: h.Tokens, TokensReady: h.Store,
			Sessions: h.Sessions, SessionsReady: h.Store, Keys: h.Keys, KeysReady: h.Store}}
	for _, f := range set {
		f(&o)
	}
	return app.New(o)
}

// Store is the in-memory event store whose appends are applied to the read models before
// Append returns: the read side is always at the log's head.
type Store struct {
	*eventstore.Memory
	registry *domain.Registry
	models   []projections.Projection

	mu      sync.Mutex
	applied int64
}

var _ eventstore.Store = (*Store)(nil)

// Append appends, then folds every appended event into the read models.
func (s *Store) Append(ctx context.Context, appends ...eventstore.StreamAppend) ([]domain.Envelope, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	envs, err := s.Memory.Append(ctx, appends...)
	if err != nil {
		return envs, err
	}
	for _, e := range envs {
		rec, err := s.registry.DecodeEnvelope(e)
		if err != nil {
			return envs, fmt.Errorf("apptest: decode %s: %w", e.Type, err)
		}
		for _, m := range s.models {
			if err := m.Apply(rec); err != nil {
				return envs, fmt.Errorf("apptest: %s applies %s: %w", m.Name(), e.Type, err)
			}
		}
		s.applied = max(s.applied, e.Position)
	}
	return envs, nil
}

// WaitFor implements app.Waiter: the models have applied every appended position.
func (s *Store) WaitFor(_ context.Context, pos int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos > s.applied {
		return fmt.Errorf("apptest: position %d was never appended (head %d)", pos, s.applied)
	}
	return nil
}

// Latest implements app.Head.
func (s *Store) Latest(ctx context.Context) (int64, error) { return s.Memory.Head(ctx) }

// Operator is an operator's actor; System is Paylent's own.
var (
	Operator = domain.Actor{Kind: domain.ActorOperator, ID: "alice"}
	System   = domain.Actor{Kind: domain.ActorSystem, ID: "paylent"}
)

// Environment creates an environment (with its signing keys) under account.
func (h *Harness) Environment(t testing.TB, account, slug string) {
	t.Helper()
	if _, err := h.App.CreateEnvironment(t.Context(), app.CreateEnvironment{Account: account, Slug: slug, DisplayName: slug}, Operator); err != nil {
		t.Fatal(err)
	}
}

// Run runs a domain command directly, as a flow below the faces would (the harness stands
// in for flows that are not operations yet, e.g. a sign-in).
func (h *Harness) Run(t testing.TB, cmd domain.Command) eventstore.Result {
	t.Helper()
	res, err := h.Loop.Execute(t.Context(), cmd, System)
	if err != nil {
		t.Fatalf("%T: %v", cmd, err)
	}
	return res
}

// SignedIn is what SignIn made: the user's session (and its cookie's token) and a grant with
// its two opaque tokens (and the access token's value).
type SignedIn struct {
	SessionID, GrantID, AccessJTI, RefreshJTI string
	SessionToken, AccessToken                 string
}

// SignIn starts a session for the user and redeems an authorization code for the client:
// one grant, with an access and a refresh token, as the code flow makes them.
func (h *Harness) SignIn(t testing.TB, env, userID, clientID string) SignedIn {
	t.Helper()
	now := time.Now()
	sessTok := secret.Token()
	sessHash := secret.Hash(sessTok)
	h.Run(t, session.Start{Environment: env, Session: session.Started{SessionID: session.ID(sessHash), UserID: userID,
		TokenHash: sessHash, AuthTime: now, ExpiresAt: now.Add(time.Hour)}})
	code := secret.Hash(secret.Token())
	h.Run(t, authcode.Issue{Environment: env, Code: authcode.Issued{CodeHash: code, ClientID: clientID, UserID: userID,
		RedirectURI: "https://app.example/cb", Scope: "openid offline_access", SessionID: session.ID(sessHash), AuthTime: now}})
	issued := func(kind string, ttl time.Duration) (string, token.Issued) {
		value := secret.Token()
		th := secret.Hash(value)
		return value, token.Issued{JTI: token.HashJTI(th), Kind: kind, Format: token.FormatOpaque, TokenHash: th, ClientID: clientID,
			Subject: userID, SubjectKind: token.SubjectUser, Scope: "openid offline_access", IssuedAt: now, ExpiresAt: now.Add(ttl),
			AuthTime: &now}
	}
	accessValue, access := issued(token.KindAccess, time.Hour)
	_, refresh := issued(token.KindRefresh, 24*time.Hour)
	h.Run(t, grant.Redeem{Environment: env, CodeHash: code, Access: access, Refresh: &refresh})
	return SignedIn{SessionID: session.ID(sessHash), GrantID: authcode.GrantID(code), AccessJTI: access.JTI, RefreshJTI: refresh.JTI,
		SessionToken: sessTok, AccessToken: accessValue}
}
