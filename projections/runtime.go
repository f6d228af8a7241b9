package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
)

// Options configure a Runtime.
type Options struct {
	Projection Projection
	Source     Source
	Registry   *domain.Registry
	// JetStream is the fast path; nil follows the store alone (CLI tools, unit tests).
	JetStream jetstream.JetStream
	// Keys verify what JetStream delivers: a message is applied only if the relay's
	// signature verifies, its hash recomputes and its previous hash is the hash of the last
	// event applied for its environment. Without Keys, messages are only a signal to read
	// the store (nothing from NATS is applied unverified).
	Keys *eventsig.KeySet
	// Checkpoints keeps snapshots across restarts; nil starts from the beginning each time.
	Checkpoints Checkpoints
	Logger      *slog.Logger
	// PollInterval is how often the store is asked for news when NATS is quiet (default 1s).
	PollInterval time.Duration
	// NudgeAfter is how long a waiter waits for NATS before the store is read (default 20ms).
	NudgeAfter time.Duration
	// CheckpointEvery is how often a changed projection is checkpointed (default 1m).
	CheckpointEvery time.Duration
	// BatchSize is how many events one read from the store takes (default 1000).
	BatchSize int
}

// StoppedError is why a projection stopped: an event it could not decode or apply. It never
// skips an event, so it stays stopped until the log or the code is fixed.
type StoppedError struct {
	Projection string
	Position   int64
	Err        error
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("projection %s stopped at position %d: %v", e.Projection, e.Position, e.Err)
}

func (e *StoppedError) Unwrap() error { return e.Err }

// Status is a runtime's state for /readyz and `paylent` status output.
type Status struct {
	Name     string `json:"name"`
	Position int64  `json:"position"`
	Ready    bool   `json:"ready"`
	// Following: subscribed to JetStream (else the store is polled alone).
	Following bool   `json:"following"`
	Error     string `json:"error,omitempty"`
}

// Runtime feeds one projection. Create it with New and start it with Run.
type Runtime struct {
	opts     Options
	proj     Projection
	log      *slog.Logger
	applied  atomic.Int64
	follows  atomic.Bool
	lastHash []byte // hash of the event at applied; only the Run goroutine touches it
	// heads is the hash of the last applied event of each environment, the link a NATS
	// message must follow (Run goroutine only). An environment missing from it is looked
	// up in the store (the authority) on its first NATS message.
	heads   map[string][]byte
	savedAt int64 // position of the last checkpoint; Run goroutine only

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever applied, ready or failed changes
	ready   bool
	failed  error

	nudge    chan struct{}
	rebuilds chan chan error
}

// New returns a runtime for opts.Projection.
func New(opts Options) *Runtime {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.NudgeAfter <= 0 {
		opts.NudgeAfter = 20 * time.Millisecond
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = time.Minute
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runtime{
		opts: opts, proj: opts.Projection,
		log:     opts.Logger.With("projection", opts.Projection.Name()),
		heads:   map[string][]byte{},
		changed: make(chan struct{}), nudge: make(chan struct{}, 1), rebuilds: make(chan chan error),
	}
}

// Name is the projection's name.
func (r *Runtime) Name() string { return r.proj.Name() }

// Position is the last applied position.
func (r *Runtime) Position() int64 { return r.applied.Load() }

// Status reports position, readiness and the error that stopped the projection, if any.
func (r *Runtime) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Status{Name: r.proj.Name(), Position: r.applied.Load(), Ready: r.ready && r.failed == nil, Following: r.follows.Load()}
	if r.failed != nil {
		s.Error = r.failed.Error()
	}
	return s
}

// Nudge asks the runtime to read the store now.
func (r *Runtime) Nudge() {
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

// WaitFor blocks until position pos is applied, the projection stops, or ctx ends. If NATS
// has not delivered pos shortly, the runtime reads it from the store.
func (r *Runtime) WaitFor(ctx context.Context, pos int64) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		r.mu.Lock()
		ch, failed := r.changed, r.failed
		r.mu.Unlock()
		if r.applied.Load() >= pos {
			return nil
		}
		if failed != nil {
			return failed
		}
		if timer == nil {
			timer = time.AfterFunc(r.opts.NudgeAfter, r.Nudge)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for position %d in %s (at %d): %w", pos, r.proj.Name(), r.applied.Load(), ctx.Err())
		}
	}
}

// Rebuild replays the whole log into a fresh projection and swaps it in; the live one keeps
// answering queries meanwhile.
func (r *Runtime) Rebuild(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case r.rebuilds <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runtime) signal(update func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if update != nil {
		update()
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// Run applies events until ctx ends (then it checkpoints and returns nil) or an event cannot
// be applied (then it returns the *StoppedError, which Status and WaitFor report too).
func (r *Runtime) Run(ctx context.Context) error {
	feed := make(chan domain.Envelope, 1024)
	if r.opts.JetStream != nil {
		go r.follow(ctx, feed)
		// Subscribe before the first catch-up, so that nothing falls between the two; if
		// NATS is not there, go on with the store alone (the subscription follows later).
		for deadline := time.Now().Add(2 * time.Second); !r.follows.Load() && time.Now().Before(deadline) && ctx.Err() == nil; {
			time.Sleep(5 * time.Millisecond)
		}
	}
	poll := time.NewTicker(r.opts.PollInterval)
	defer poll.Stop()
	save := time.NewTicker(r.opts.CheckpointEvery)
	defer save.Stop()
	restored, sync := false, true
	for {
		if sync {
			if !restored {
				restored = r.restore(ctx)
			}
			if restored {
				err := r.catchUp(ctx)
				if stop := r.fatal(err); stop != nil {
					return stop
				}
				if err == nil {
					r.signal(func() { r.ready = true })
				}
			}
			sync = false
		}
		select {
		case <-ctx.Done():
			r.checkpoint()
			return nil
		case env := <-feed:
			if !restored {
				continue
			}
			if stop := r.fatal(r.fromFeed(ctx, env, feed)); stop != nil {
				return stop
			}
		case <-r.nudge:
			sync = true
		case <-poll.C:
			sync = true
		case <-save.C:
			r.checkpoint()
		case reply := <-r.rebuilds:
			err := r.rebuild(ctx)
			reply <- err
			if stop := r.fatal(err); stop != nil {
				return stop
			}
		}
	}
}

// fatal records a stopping error; transient ones (the store is down) are only logged.
func (r *Runtime) fatal(err error) error {
	var stopped *StoppedError
	if errors.As(err, &stopped) {
		r.log.Error("projection stopped", "position", stopped.Position, "err", stopped.Err)
		r.signal(func() { r.failed = stopped })
		return stopped
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		r.log.Warn("projection cannot read the event store; retrying", "err", err)
	}
	return nil
}

// fromFeed applies what NATS delivered, when it is the next position and its chain link
// follows (its signature and hash were verified on receipt); a jump means NATS lost
// something, and a broken link means someone else wrote it, so the store fills the gap.
func (r *Runtime) fromFeed(ctx context.Context, env domain.Envelope, feed <-chan domain.Envelope) error {
	for {
		applied := r.applied.Load()
		switch {
		case env.Position <= applied:
		case env.Position == applied+1 && r.links(ctx, env):
			if err := r.apply(env); err != nil {
				return err
			}
		default:
			r.signal(nil)
			return r.catchUp(ctx)
		}
		select {
		case env = <-feed:
		default:
			r.signal(nil)
			return nil
		}
	}
}

func (r *Runtime) apply(env domain.Envelope) error {
	rec, err := r.opts.Registry.DecodeEnvelope(env)
	if err == nil {
		err = r.proj.Apply(rec)
	}
	if err != nil {
		return &StoppedError{Projection: r.proj.Name(), Position: env.Position, Err: err}
	}
	r.applied.Store(env.Position)
	r.lastHash = env.Hash
	r.heads[env.Environment] = env.Hash
	return nil
}

// links reports whether env, the next position, links to the last event applied for its
// environment. A refusal is logged without the message's content.
func (r *Runtime) links(ctx context.Context, env domain.Envelope) bool {
	head, ok := r.heads[env.Environment]
	if !ok {
		h, err := r.environmentHead(ctx, env.Environment, env.Position)
		if err != nil {
			r.log.Debug("cannot read the environment's chain head; reading the store", "position", env.Position, "err", err)
			return false
		}
		head, r.heads[env.Environment] = h, h
	}
	if !bytes.Equal(env.PrevHash, head) {
		r.log.Warn("refusing a message from the event stream; reading the store instead",
			"position", env.Position, "subject", env.Subject(), "reason", "previous hash does not follow the last event applied")
		return false
	}
	return true
}

// environmentHead is the hash of the environment's last event before position (all of which
// are applied), read from the store; the genesis hash for a new environment.
func (r *Runtime) environmentHead(ctx context.Context, environment string, before int64) ([]byte, error) {
	src, ok := r.opts.Source.(environmentReader)
	if !ok {
		return nil, errors.New("the source cannot read an environment backwards")
	}
	last, err := src.ReadEnvironmentBefore(ctx, environment, before, 1)
	if err != nil {
		return nil, err
	}
	if len(last) == 0 {
		return eventstore.GenesisHash, nil
	}
	return last[0].Hash, nil
}

// environmentReader is the part of the event store that finds an environment's chain head
// at a position.
type environmentReader interface {
	ReadEnvironmentBefore(ctx context.Context, environment string, before int64, limit int) ([]domain.Envelope, error)
}

// catchUp reads the store from the applied position until it is drained.
func (r *Runtime) catchUp(ctx context.Context) error {
	for {
		batch, err := r.opts.Source.ReadAll(ctx, r.applied.Load(), r.opts.BatchSize)
		if err != nil {
			return err
		}
		for _, env := range batch {
			if env.Position != r.applied.Load()+1 {
				return &StoppedError{Projection: r.proj.Name(), Position: env.Position,
					Err: fmt.Errorf("the log jumps from position %d to %d", r.applied.Load(), env.Position)}
			}
			if err := r.apply(env); err != nil {
				return err
			}
		}
		if len(batch) > 0 {
			r.signal(nil)
		}
		if len(batch) < r.opts.BatchSize {
			return nil
		}
	}
}

// restore loads the checkpoint if it matches the log. It reports false when the store
// cannot be reached yet (try again later).
func (r *Runtime) restore(ctx context.Context) bool {
	if r.opts.Checkpoints == nil {
		return true
	}
	cp, ok, err := r.opts.Checkpoints.Open(CheckpointName(r.proj))
	if err != nil || !ok {
		if err != nil {
			r.log.Warn("ignoring unreadable checkpoint; rebuilding from the start", "err", err)
		}
		return true
	}
	defer cp.State.Close()
	at, err := r.opts.Source.ReadAll(ctx, cp.Position-1, 1)
	if err != nil {
		r.log.Warn("cannot check checkpoint against the event store yet", "err", err)
		return false
	}
	if len(at) != 1 || at[0].Position != cp.Position || !bytes.Equal(at[0].Hash, cp.Hash) {
		r.log.Warn("checkpoint does not match the event log; rebuilding from the start", "checkpoint_position", cp.Position)
		return true
	}
	if err := RestoreState(r.proj, cp.State); err != nil {
		r.log.Warn("checkpoint does not restore; rebuilding from the start", "err", err)
		r.proj.Restore(nil) //nolint:errcheck // an empty state always restores
		return true
	}
	r.applied.Store(cp.Position)
	r.lastHash, r.savedAt = cp.Hash, cp.Position
	clear(r.heads)
	r.log.Info("restored checkpoint", "position", cp.Position)
	return true
}

// checkpoint writes the state at the applied position. It runs on the Run goroutine, so
// nothing is applied meanwhile; a Streamer writes entry by entry under short read locks
// (queries go on), straight into the file's buffer.
func (r *Runtime) checkpoint() {
	applied := r.applied.Load()
	if r.opts.Checkpoints == nil || applied == 0 || applied == r.savedAt {
		return
	}
	started := time.Now()
	err := r.opts.Checkpoints.Write(CheckpointName(r.proj), applied, r.lastHash, func(w io.Writer) error {
		return WriteState(r.proj, w)
	})
	if err != nil {
		r.log.Warn("checkpoint failed", "position", applied, "err", err)
		return
	}
	r.savedAt = applied
	r.log.Debug("checkpoint written", "position", applied, "took", time.Since(started))
}

// rebuild replays the log into a fresh projection, then swaps its state in (streamed from
// the fresh copy into the live one: the encoded state is never whole in memory).
func (r *Runtime) rebuild(ctx context.Context) error {
	started := time.Now()
	fresh := r.proj.New()
	pos, hash, err := Replay(ctx, r.opts.Source, r.opts.Registry, fresh)
	if err != nil {
		return err
	}
	if err := Copy(r.proj, fresh); err != nil {
		return fmt.Errorf("rebuild %s: swap: %w", r.proj.Name(), err)
	}
	r.applied.Store(pos)
	r.lastHash, r.savedAt = hash, 0
	clear(r.heads)
	r.signal(nil)
	r.checkpoint()
	r.log.Info("rebuilt projection", "position", pos, "took", time.Since(started))
	return nil
}

// Copy replaces dst's state with src's, through a pipe (src must not change meanwhile).
func Copy(dst, src Projection) error {
	pr, pw := io.Pipe()
	wrote := make(chan error, 1)
	go func() {
		err := WriteState(src, pw)
		pw.CloseWithError(err)
		wrote <- err
	}()
	err := RestoreState(dst, pr)
	pr.CloseWithError(errors.New("restore ended")) // unblocks the writer if restore stopped early
	if werr := <-wrote; err == nil && werr != nil {
		err = werr
	}
	return err
}

// Replay folds the whole log into p (which should be empty) and returns the position and
// hash of the last event applied. An event p cannot apply is a *StoppedError.
func Replay(ctx context.Context, src Source, reg *domain.Registry, p Projection) (int64, []byte, error) {
	const batchSize = 5000
	var pos int64
	var hash []byte
	for {
		batch, err := src.ReadAll(ctx, pos, batchSize)
		if err != nil {
			return pos, hash, fmt.Errorf("replay %s: %w", p.Name(), err)
		}
		for _, env := range batch {
			rec, err := reg.DecodeEnvelope(env)
			if err == nil {
				err = p.Apply(rec)
			}
			if err != nil {
				return pos, hash, &StoppedError{Projection: p.Name(), Position: env.Position, Err: err}
			}
			pos, hash = env.Position, env.Hash
		}
		if len(batch) < batchSize {
			return pos, hash, nil
		}
	}
}
