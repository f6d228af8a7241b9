package app

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/paylent/paylent/internal/keygen"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/projections/tokens"
)

// Waiter waits until a read model has applied a position.
type Waiter interface {
	WaitFor(ctx context.Context, pos int64) error
}

// Head reads the event log's head.
type Head interface {
	Latest(ctx context.Context) (int64, error)
}

// ReadModels are the instance's read models and how to wait for each.
type ReadModels struct {
	Head          Head
	Catalog       *catalog.Catalog
	CatalogReady  Waiter
	Tokens        *tokens.Store
	TokensReady   Waiter
	Sessions      *sessions.Store
	SessionsReady Waiter
	// Keys are the environments' signing keys: the flows sign with them and verify the
	// JWTs presented to them.
	Keys      Keyring
	KeysReady Waiter
}

// Keyring is what the flows need of the signing keys (projections/keys.Keyring).
type Keyring interface {
	// Signer is the primary private key, parsed and precomputed once.
	Signer(env string) (*keys.Signer, error)
	// VerificationKeys are the public keys tokens may be signed with at now.
	VerificationKeys(env string, now time.Time) jwk.Set
	// JWKS is the published key set document.
	JWKS(env string, now time.Time) ([]byte, error)
}

// App holds what operations need. Build one in the composition root and share it.
type App struct {
	loop      *eventstore.Loop
	masterKey []byte
	rand      io.Reader
	rm        ReadModels
	hasher    *secret.Hasher
	registry  *domain.Registry
	now       func() time.Time
	log       *slog.Logger
	observer  TokenObserver
	keyPool   *keygen.Pool
	// renewHashes: Options.RenewPasswordHashes.
	renewHashes bool
}

// Options configure an App.
type Options struct {
	Loop *eventstore.Loop
	// MasterKey seals signing keys and keys the derivation of rotated refresh tokens and
	// registration passcodes.
	MasterKey []byte
	// Rand supplies nonces for sealing (default crypto/rand).
	Rand io.Reader
	// ReadModels are needed by the operations that end access (they find what a user or a
	// client holds); creating an environment needs none.
	ReadModels ReadModels
	// Hasher hashes new passwords within the process's budget (CreateUser, AddOperator).
	Hasher *secret.Hasher
	// Registry decodes what an operation appended, where its result names it (RotateKeys).
	Registry *domain.Registry
	Now      func() time.Time
	Logger   *slog.Logger
	// Observer is told of every access token the flows issue (metrics); nil observes
	// nothing.
	Observer TokenObserver
	// KeyPool supplies signing keys generated ahead of need (CreateEnvironment, RotateKeys);
	// nil generates each key inline when it is needed.
	KeyPool *keygen.Pool
	// RenewPasswordHashes: a sign-in against a hash of older Argon2id parameters renews it
	// (user.password_rehashed). Off, nothing is renewed: while instances of a release that
	// cannot read that event share the log (a rolling upgrade), they must not meet it.
	RenewPasswordHashes bool
}

// TokenObserver watches token issuance (internal/metrics implements it).
type TokenObserver interface {
	// TokenIssued reports an access token issued by grant (client.Grant...) in format
	// (token.FormatJWT or token.FormatOpaque).
	TokenIssued(grant, format string)
}

// New returns an App.
func New(o Options) *App {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.KeyPool == nil {
		o.KeyPool = keygen.NewPool(keygen.PoolOptions{MasterKey: o.MasterKey, Rand: o.Rand, Size: 1, Logger: o.Logger})
	}
	return &App{loop: o.Loop, masterKey: o.MasterKey, rand: o.Rand, rm: o.ReadModels, hasher: o.Hasher, registry: o.Registry,
		now: o.Now, log: o.Logger, observer: o.Observer, keyPool: o.KeyPool, renewHashes: o.RenewPasswordHashes}
}

// issued tells the observer, if any, that a flow returned an access token.
func (a *App) issued(grant string, access token.Issued) {
	if a.observer != nil {
		a.observer.TokenIssued(grant, access.Format)
	}
}

// Written is the outcome of an operation that changes one thing: the position of its last
// event (0 when nothing changed). Read your write after it (AfterWrite).
type Written struct {
	Position int64
}
