package workers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/keygen"
	"github.com/paylent/paylent/projections/keys"
)

// keyManagerActor is the actor of the events the key manager appends.
var keyManagerActor = domain.Actor{Kind: domain.ActorSystem, ID: "key-manager"}

// KeyManagerOptions configure a KeyManager.
type KeyManagerOptions struct {
	Loop *eventstore.Loop
	// Keys is this instance's keys projection: what keys exist, as far as it has seen.
	Keys *keys.Keyring
	// Environments lists every environment's slug (e.g. from the catalog projection).
	Environments func() []string
	MasterKey    []byte
	// Pool supplies the keys (Pool.Spare: never below half the pool, never beyond its
	// refill's CPU budget); nil generates them inline.
	Pool *keygen.Pool
	// Rand supplies the nonces (default crypto/rand).
	Rand   io.Reader
	Logger *slog.Logger
	// Interval is how often environments are checked (default 1s).
	Interval time.Duration
}

// KeyManager makes sure every environment has a primary and a next signing key. Several
// instances may run one each: signingkey.Ensure decides nothing when the keys exist, and
// the command loop re-decides when another instance appended first.
type KeyManager struct {
	opts KeyManagerOptions
	log  *slog.Logger

	mu      sync.Mutex
	ensured map[string]bool // environments known complete (a complete stream stays complete)
}

// NewKeyManager returns a key manager; start it with Run.
func NewKeyManager(opts KeyManagerOptions) *KeyManager {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &KeyManager{opts: opts, log: opts.Logger.With("worker", "key-manager"), ensured: map[string]bool{}}
}

// Run checks the environments every Interval until ctx ends. Failures are logged and
// retried on the next round.
func (m *KeyManager) Run(ctx context.Context) error {
	tick := time.NewTicker(m.opts.Interval)
	defer tick.Stop()
	for {
		if err := m.Sync(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("cannot ensure signing keys; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Sync gives every listed environment that lacks keys its primary and next key.
func (m *KeyManager) Sync(ctx context.Context) error {
	var errs []error
	for _, env := range m.opts.Environments() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.mu.Lock()
		done := m.ensured[env]
		m.mu.Unlock()
		if done {
			continue
		}
		if !m.opts.Keys.Complete(env) {
			if err := m.Ensure(ctx, env); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		m.mu.Lock()
		m.ensured[env] = true
		m.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Ensure gives env a primary and a next key if it lacks them, whatever the projection says.
// An environment is created with its primary only (signingkey.CreateEnvironment), so this
// is where its next key comes from, a second or so later.
func (m *KeyManager) Ensure(ctx context.Context, env string) error {
	hist, err := m.opts.Loop.Read(ctx, signingkey.Stream(env))
	if err != nil {
		return fmt.Errorf("ensure signing keys of %s: %w", env, err)
	}
	need := signingkey.Needed(signingkey.Fold(hist))
	if need == 0 {
		return nil
	}
	cands, err := m.candidates(ctx, need)
	if err != nil {
		return err
	}
	res, err := m.opts.Loop.Execute(ctx, signingkey.Ensure{Environment: env, Candidates: cands}, keyManagerActor)
	if err != nil {
		return fmt.Errorf("ensure signing keys of %s: %w", env, err)
	}
	if len(res.Events) == 0 {
		m.log.Debug("signing keys were already there", "environment", env)
		return nil
	}
	m.log.Info("created signing keys", "environment", env, "position", res.Position)
	return nil
}

// candidates are n new keys: spares of the pool, or generated here without one.
func (m *KeyManager) candidates(ctx context.Context, n int) ([]signingkey.Material, error) {
	if m.opts.Pool == nil {
		return keygen.Generate(m.opts.MasterKey, m.opts.Rand, n)
	}
	out := make([]signingkey.Material, 0, n)
	for range n {
		k, err := m.opts.Pool.Spare(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}
