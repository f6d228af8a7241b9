package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultBucket is the NATS KV bucket shared by every Paylent instance.
const DefaultBucket = "PAYLENT_RATELIMITS"

var (
	// ErrInvalid reports an unusable key, limit or window.
	ErrInvalid = errors.New("ratelimit: invalid argument")
	// ErrUnavailable reports that the shared store could not answer in time.
	ErrUnavailable = errors.New("ratelimit: shared store unavailable")
)

// maxAttempts bounds the compare-and-set rounds of one decision.
const maxAttempts = 10

// contendedRetry is the Retry-After given when maxAttempts rounds all lost.
const contendedRetry = time.Second

// Options configure New. The zero value is usable.
type Options struct {
	// Bucket names the KV bucket; default DefaultBucket.
	Bucket string
	// MaxWindow is the longest window Allow accepts and the bucket's TTL; default 1 h.
	MaxWindow time.Duration
	// Storage of a bucket New creates. The default, file, keeps the ledgers across a
	// NATS restart; memory is faster but forgets every count when the server restarts.
	Storage jetstream.StorageType
	// Replicas of a bucket New creates in a NATS cluster; default 1.
	Replicas int
	// Timeout bounds the store's part of one decision; default 500 ms.
	Timeout time.Duration
	// Pause is how long the store is left alone after it failed: decisions fail at once
	// meanwhile (and fall back as the caller chose) rather than each waiting Timeout;
	// default 1 s.
	Pause time.Duration
	// LocalKeys caps the keys held in memory by the fast path and by the fail-open
	// fallback, each; default 100,000.
	LocalKeys int
	// Logger receives store failures; nil discards them.
	Logger *slog.Logger
	// Observer is told of every refusal (metrics); nil observes nothing.
	Observer Observer
}

// Observer watches the limiter's refusals (internal/metrics implements it).
type Observer interface {
	// RateLimited reports a refused request. limit is the name before the first ":" of its
	// key (token, login, register, management): keys are "<limit>:<environment>:...", so
	// the names are the code's few constants, never a client's address.
	RateLimited(limit string)
}

// refused tells the observer, if any, that the request with key was refused.
func (l *Limiter) refused(key string) {
	if l.opts.Observer == nil {
		return
	}
	name, _, ok := strings.Cut(key, ":")
	if !ok {
		name = "other"
	}
	l.opts.Observer.RateLimited(name)
}

func (o *Options) defaults() {
	if o.Bucket == "" {
		o.Bucket = DefaultBucket
	}
	if o.MaxWindow <= 0 {
		o.MaxWindow = time.Hour
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.Pause <= 0 {
		o.Pause = time.Second
	}
	if o.LocalKeys <= 0 {
		o.LocalKeys = 100_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Decision is the answer for one request.
type Decision struct {
	// Allowed is true when the request may proceed (and was counted).
	Allowed bool
	// Remaining is how many more requests the window admits after this one.
	Remaining int
	// RetryAfter is, when refused, how long until a request can be admitted again.
	RetryAfter time.Duration
	// Reset is when Remaining next grows: when the oldest counted request leaves the
	// window (for a refusal, now + RetryAfter).
	Reset time.Time
	// Degraded is true when the shared store did not decide: the per-process fallback
	// did (fail open), or the request was refused by policy (fail closed).
	Degraded bool
}

// Limiter decides requests against ledgers shared by every instance through NATS KV.
// It is safe for concurrent use.
type Limiter struct {
	kv        atomic.Pointer[jetstream.KeyValue] // nil until bound
	bindMu    sync.Mutex
	js        jetstream.JetStream
	nc        *nats.Conn
	opts      Options
	log       *slog.Logger
	locks     keyLocks
	denied    denials
	fallback  fallback
	downUntil atomic.Int64 // Unix ns until which the store is left alone
}

// New binds the KV bucket, creating it when missing (TTL MaxWindow, history 1). An
// existing bucket is used as it is, unless its TTL is shorter than MaxWindow: then keys
// would expire while still counted, and New fails.
func New(ctx context.Context, js jetstream.JetStream, opts Options) (*Limiter, error) {
	opts.defaults()
	l := &Limiter{
		js:       js,
		nc:       js.Conn(),
		opts:     opts,
		log:      opts.Logger,
		denied:   denials{max: opts.LocalKeys},
		fallback: fallback{max: opts.LocalKeys},
	}
	if _, err := l.bucket(ctx); err != nil && !errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	return l, nil
}

// bucket returns the KV bucket, binding it on first use. While NATS cannot be reached the
// error is ErrUnavailable (the limiter then decides without the store, as configured, and
// binds once NATS answers); a bucket that cannot serve as ours is a plain error.
func (l *Limiter) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	if kv := l.kv.Load(); kv != nil {
		return *kv, nil
	}
	l.bindMu.Lock()
	defer l.bindMu.Unlock()
	if kv := l.kv.Load(); kv != nil {
		return *kv, nil
	}
	kv, err := bind(ctx, l.js, l.opts)
	if err != nil {
		if errors.Is(err, errTTL) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	l.kv.Store(&kv)
	return kv, nil
}

func bind(ctx context.Context, js jetstream.JetStream, opts Options) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, opts.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      opts.Bucket,
			Description: "Paylent rate limit ledgers (sliding logs, one per limited key)",
			History:     1,
			TTL:         opts.MaxWindow,
			Storage:     opts.Storage,
			Replicas:    opts.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another instance was first
			kv, err = js.KeyValue(ctx, opts.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("rate limit bucket %s: %w", opts.Bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("rate limit bucket %s: %w", opts.Bucket, err)
	}
	if ttl := st.TTL(); ttl > 0 && ttl < opts.MaxWindow {
		return nil, fmt.Errorf("rate limit bucket %s: TTL %s is shorter than the longest window %s: %w",
			opts.Bucket, ttl, opts.MaxWindow, errTTL)
	}
	return kv, nil
}

// Allow counts one request under key against limit requests per window, across every
// instance sharing the bucket. key should name the limit and the environment, e.g.
// "token:acme-test:" + ip; any bytes are allowed. A refused request is not counted.
//
// The error is ErrInvalid for a bad argument, ErrUnavailable (wrapped) when the store
// did not answer within Timeout, or the context's error; the Decision is then zero and
// the caller chooses to fail open or closed (Middleware does, per its FailOpen).
func (l *Limiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	d, err := l.allow(ctx, key, limit, window)
	if err == nil && !d.Allowed {
		l.refused(key)
	}
	return d, err
}

func (l *Limiter) allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	if key == "" || limit < 1 || window < time.Millisecond || window > l.opts.MaxWindow {
		return Decision{}, fmt.Errorf("%w: key %q, limit %d, window %s (at most %s)",
			ErrInvalid, key, limit, window, l.opts.MaxWindow)
	}
	k := storeKey(key)
	if d, ok := l.denied.lookup(k, limit, window, time.Now()); ok {
		return d, nil
	}
	if err := l.storeUsable(); err != nil {
		return Decision{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	unlock, err := l.locks.lock(sctx, k)
	if err != nil {
		if ctx.Err() != nil {
			return Decision{}, ctx.Err()
		}
		// Queued behind this process's own requests for the key: not the store's fault,
		// so other keys go on using it.
		return Decision{}, fmt.Errorf("%w: queued too long for key %s", ErrUnavailable, k)
	}
	defer unlock()
	// While this call queued, another may have been refused: ask the fast path again.
	if d, ok := l.denied.lookup(k, limit, window, time.Now()); ok {
		return d, nil
	}
	d, err := l.admit(sctx, k, limit, window)
	if err != nil {
		return Decision{}, l.failure(ctx, err)
	}
	if l.downUntil.Load() != 0 && l.downUntil.Swap(0) != 0 {
		l.fallback.clear()
		l.log.Info("rate limit store answers again")
	}
	return d, nil
}

// admit runs the compare-and-set loop: read the ledger and its revision, decide, and
// write the new ledger only if nobody wrote since (Create when there was none, Update
// with the revision read otherwise). A refusal writes nothing.
func (l *Limiter) admit(ctx context.Context, k string, limit int, window time.Duration) (Decision, error) {
	kv, err := l.bucket(ctx)
	if err != nil {
		return Decision{}, err
	}
	rebound := false
	for attempt := range maxAttempts {
		var led ledger
		var rev uint64
		e, err := kv.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case missingBucket(err) && !rebound:
			if err := l.recreate(ctx); err != nil {
				return Decision{}, err
			}
			rebound = true
			continue
		case err != nil:
			return Decision{}, err
		default:
			rev = e.Revision()
			if led, err = decodeLedger(e.Value()); err != nil {
				l.log.Warn("rate limit ledger unreadable; starting it afresh", "key", k, "err", err)
			}
		}
		now := time.Now()
		next, d := led.admit(now.UnixMilli(), limit, window)
		if !d.Allowed {
			l.denied.store(k, limit, window, d.Reset, now)
			return d, nil
		}
		if rev == 0 {
			_, err = kv.Create(ctx, k, next.encode())
		} else {
			_, err = kv.Update(ctx, k, next.encode(), rev)
		}
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return Decision{}, err
		}
		// Another instance wrote first: back off a little, at random, and decide again.
		pause := time.Duration(rand.Int64N(int64(attempt+1) * int64(time.Millisecond)))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return Decision{}, ctx.Err()
		}
	}
	// Every round lost to another instance: this key is very hot. Refusing keeps the
	// bound; the caller retries in a second.
	l.log.Warn("rate limit ledger contended; refusing", "key", k, "attempts", maxAttempts)
	return Decision{RetryAfter: contendedRetry, Reset: time.Now().Add(contendedRetry)}, nil
}

// errTTL marks a bucket whose TTL is too short to hold the longest window.
var errTTL = errors.New("bucket TTL too short")

// missingBucket tells whether err means that nothing serves the bucket's stream: it was
// deleted, or it lived in memory and NATS restarted.
func missingBucket(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrStreamNotFound)
}

// recreate creates the bucket again after it vanished. The handle stays valid: it
// addresses the bucket by name.
func (l *Limiter) recreate(ctx context.Context) error {
	if _, err := bind(ctx, l.js, l.opts); err != nil {
		return err
	}
	l.log.Warn("rate limit bucket was missing; created it again", "bucket", l.opts.Bucket)
	return nil
}

// storeUsable fails fast while NATS is disconnected or the store recently failed.
func (l *Limiter) storeUsable() error {
	if !l.nc.IsConnected() {
		err := fmt.Errorf("%w: not connected to NATS", ErrUnavailable)
		l.pause(err)
		return err
	}
	if time.Now().UnixNano() < l.downUntil.Load() {
		return fmt.Errorf("%w: paused after a failure", ErrUnavailable)
	}
	return nil
}

// failure classifies an error of the store: the caller's own cancellation is returned as
// is; anything else pauses the store and is ErrUnavailable.
func (l *Limiter) failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	l.pause(err)
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// pause leaves the store alone for Pause, logging when an outage begins.
func (l *Limiter) pause(err error) {
	now := time.Now()
	if prev := l.downUntil.Swap(now.Add(l.opts.Pause).UnixNano()); prev == 0 {
		l.log.Warn("rate limit store unavailable; deciding without it until it answers", "err", err)
	}
}

// degraded decides without the store: per process when failing open, refusing when not.
func (l *Limiter) degraded(key string, limit int, window time.Duration, failOpen bool) Decision {
	now := time.Now()
	if !failOpen {
		l.refused(key)
		return Decision{RetryAfter: failClosedRetry, Reset: now.Add(failClosedRetry), Degraded: true}
	}
	d := l.fallback.admit(storeKey(key), limit, window, now)
	d.Degraded = true
	if !d.Allowed {
		l.refused(key)
	}
	return d
}

// failClosedRetry is the Retry-After of a refusal made because the store is unavailable.
const failClosedRetry = 5 * time.Second
