package secret

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrBusy: the password hasher's budget is spent and its queue is full, or a caller waited
// longer than the hasher's deadline. It is a temporary condition: the caller answers "try
// again in a moment", never "wrong password".
var ErrBusy = errors.New("password hashing is busy")

// HasherConfig bounds the password hasher. Zero fields take the defaults.
type HasherConfig struct {
	// Params are the Argon2id parameters of new hashes (default DefaultPasswordParams).
	Params PasswordParams
	// MemoryBudgetKiB is the most memory all computations at once may use (default 256 MiB).
	MemoryBudgetKiB uint32
	// CPUs is how many computations may run at once when memory allows (default
	// runtime.NumCPU()).
	CPUs int
	// MaxWaiting is how many callers may wait for a turn (default 64); one more gets ErrBusy
	// at once.
	MaxWaiting int
	// MaxWait is how long a caller waits for a turn before ErrBusy (default 2 s).
	MaxWait time.Duration
}

// Hasher hashes and verifies passwords with Argon2id behind a fixed budget: at most CPUs
// computations at once and never more than MemoryBudgetKiB of Argon2id memory, a bounded
// queue, and a deadline. Every password hash and verification goes through one Hasher,
// built once by the composition root.
type Hasher struct {
	cfg     HasherConfig
	sem     *semaphore.Weighted
	slotKiB int64 // a computation's smallest weight: the budget shared by the CPUs
	waiting atomic.Int64
	running atomic.Int64
	busy    atomic.Uint64 // callers refused with ErrBusy
	// idKey computes Argon2id (tests replace it to observe concurrency).
	idKey func(password, salt []byte, p PasswordParams, keyLen uint32) []byte

	dummyMu sync.Mutex
	dummy   string
}

// NewHasher returns a hasher with cfg's bounds.
func NewHasher(cfg HasherConfig) *Hasher {
	if cfg.Params == (PasswordParams{}) {
		cfg.Params = DefaultPasswordParams
	}
	if cfg.MemoryBudgetKiB == 0 {
		cfg.MemoryBudgetKiB = 256 * 1024
	}
	if cfg.CPUs <= 0 {
		cfg.CPUs = runtime.NumCPU()
	}
	if cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = 64
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 2 * time.Second
	}
	budget := int64(cfg.MemoryBudgetKiB)
	return &Hasher{cfg: cfg, sem: semaphore.NewWeighted(budget), slotKiB: max(budget/int64(cfg.CPUs), 1), idKey: argon2id}
}

// Params are the parameters of new hashes.
func (h *Hasher) Params() PasswordParams { return h.cfg.Params }

// Limit is how many computations with the hasher's own parameters run at once.
func (h *Hasher) Limit() int { return int(int64(h.cfg.MemoryBudgetKiB) / h.weight(h.cfg.Params)) }

// HasherStats is the hasher's state, for metrics.
type HasherStats struct {
	Waiting int64  // callers queued for a turn
	Running int64  // computations running
	Busy    uint64 // callers refused with ErrBusy since the hasher was made
}

// Stats reports the hasher's queue, running computations and refusals.
func (h *Hasher) Stats() HasherStats {
	return HasherStats{Waiting: h.waiting.Load(), Running: h.running.Load(), Busy: h.busy.Load()}
}

// Hash returns the PHC string of password with the hasher's parameters.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	p := h.cfg.Params
	salt := newSalt()
	var key []byte
	if err := h.run(ctx, p, func() { key = h.idKey([]byte(password), salt, p, 32) }); err != nil {
		return "", err
	}
	return encodePHC(p, salt, key), nil
}

// Verify reports whether password matches the PHC string, with the parameters recorded in
// it (hashes made with older parameters still verify; they weigh what they cost).
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	d, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	var ok bool
	err = h.run(ctx, d.params, func() { ok = d.matches(h.idKey([]byte(password), d.salt, d.params, uint32(len(d.key)))) })
	return ok, err
}

// Func is Hash bound to ctx, in the form user.HashedPassword takes.
func (h *Hasher) Func(ctx context.Context) func(password string) (string, error) {
	return func(password string) (string, error) { return h.Hash(ctx, password) }
}

// Dummy returns a hash of a random password with the hasher's parameters, made once: a
// login for an unknown address verifies against it, so that it costs what a known one does.
func (h *Hasher) Dummy(ctx context.Context) (string, error) {
	h.dummyMu.Lock()
	defer h.dummyMu.Unlock()
	if h.dummy != "" {
		return h.dummy, nil
	}
	d, err := h.Hash(ctx, Token())
	if err != nil {
		return "", err
	}
	h.dummy = d
	return d, nil
}

// weight is what a computation with p holds of the budget: its memory, and at least one
// CPU's share, so that no more than CPUs computations run at once.
func (h *Hasher) weight(p PasswordParams) int64 {
	return min(max(int64(p.MemoryKiB), h.slotKiB), int64(h.cfg.MemoryBudgetKiB))
}

// run waits for a turn (bounded queue, deadline, ctx) and runs compute in it.
func (h *Hasher) run(ctx context.Context, p PasswordParams, compute func()) error {
	w := h.weight(p)
	if !h.sem.TryAcquire(w) {
		if h.waiting.Add(1) > int64(h.cfg.MaxWaiting) {
			h.waiting.Add(-1)
			h.busy.Add(1)
			return ErrBusy
		}
		wctx, cancel := context.WithTimeout(ctx, h.cfg.MaxWait)
		err := h.sem.Acquire(wctx, w)
		cancel()
		h.waiting.Add(-1)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return fmt.Errorf("wait to hash a password: %w", ctx.Err())
		default:
			h.busy.Add(1)
			return ErrBusy
		}
	}
	defer h.sem.Release(w)
	h.running.Add(1)
	defer h.running.Add(-1)
	compute()
	return nil
}
