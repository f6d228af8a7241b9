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
	"github.com/paylent/paylent/domain/environment"
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
	// Keys is this instance's keys projection: what keys exist, as far as it has seen. Its
	// Incomplete set is what the manager works on every Interval.
	Keys *keys.Keyring
	// Environments lists every environment's slug (e.g. from the catalog projection). It is
	// scanned only every ScanInterval, for environments that have no key at all (created
	// without keys by an older version, or by a bare environment.Create).
	Environments func() []string
	MasterKey    []byte
	// Pool supplies the keys (Pool.Spare: never below half the pool, never beyond its
	// refill's CPU budget); nil generates them inline.
	Pool *keygen.Pool
	// Rand supplies the nonces (default crypto/rand).
	Rand   io.Reader
	Logger *slog.Logger
	// Interval is how often the environments lacking a key are served (default 1s).
	Interval time.Duration
	// ScanInterval is how often every environment is listed to find those without any
	// key (default 60 × Interval, and at start).
	ScanInterval time.Duration
}

// KeyManager makes sure every environment has a primary and a next signing key. Several
// instances may run one each: signingkey.Ensure decides nothing when the keys exist, and
// the command loop re-decides when another instance appended first. Its work every
// Interval is proportional to the environments that lack a key (the keys model's
// Incomplete set), not to the number of environments.
type KeyManager struct {
	opts KeyManagerOptions
	log  *slog.Logger

	mu       sync.Mutex
	lastScan time.Time // when Environments was last listed
}

// NewKeyManager returns a key manager; start it with Run.
func NewKeyManager(opts KeyManagerOptions) *KeyManager {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.ScanInterval <= 0 {
		opts.ScanInterval = 60 * opts.Interval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &KeyManager{opts: opts, log: opts.Logger.With("worker", "key-manager")}
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

// Sync gives every environment the keys model lists as incomplete its missing key, and,
// every ScanInterval, every listed environment that has no key at all its two keys.
func (m *KeyManager) Sync(ctx context.Context) error {
	var errs []error
	for _, env := range m.work() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := m.Ensure(ctx, env); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// work lists the environments to ensure now: the incomplete ones, and on a scan those the
// keys model does not know.
func (m *KeyManager) work() []string {
	out := m.opts.Keys.Incomplete()
	m.mu.Lock()
	scan := m.lastScan.IsZero() || time.Since(m.lastScan) >= m.opts.ScanInterval
	if scan {
		m.lastScan = time.Now()
	}
	m.mu.Unlock()
	if scan && m.opts.Environments != nil {
		for _, env := range m.opts.Environments() {
			if !m.opts.Keys.Known(env) {
				out = append(out, env)
			}
		}
	}
	return out
}

// Ensure gives env a primary and a next key if it lacks them, whatever the projection says.
// An environment is created with its primary only (signingkey.CreateEnvironment), so this
// is where its next key comes from, a second or so later.
func (m *KeyManager) Ensure(ctx context.Context, env string) error {
	hist, err := m.opts.Loop.Read(ctx, signingkey.Stream(env))
	if err != nil {
		return fmt.Errorf("ensure signing keys of %s: %w", env, err)
	}
	st := signingkey.Fold(hist)
	need := signingkey.Needed(st)
	if need == 0 {
		return nil
	}
	alg := st.Alg
	if alg == "" { // no key yet: the environment says
		envHist, err := m.opts.Loop.Read(ctx, environment.Stream(env))
		if err != nil {
			return fmt.Errorf("ensure signing keys of %s: %w", env, err)
		}
		alg = environment.Fold(envHist).SigningAlg
	}
	cands, err := m.candidates(ctx, alg, need)
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

// candidates are n new keys of the algorithm alg: RSA keys are spares of the pool, or
// generated here without one; ES256 keys are generated here (microseconds).
func (m *KeyManager) candidates(ctx context.Context, alg string, n int) ([]signingkey.Material, error) {
	if m.opts.Pool == nil || alg != environment.SigningRS256 {
		return keygen.GenerateFor(alg, m.opts.MasterKey, m.opts.Rand, n)
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
