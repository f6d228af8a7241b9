package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Loop runs domain commands: load each stream the command names, decode and hand the history
// to Decide, append the decided events with the versions that were read, and start over
// when another writer got there first. Handlers and workers never hand-roll this.
type Loop struct {
	store       Store
	registry    *domain.Registry
	now         func() time.Time
	maxAttempts int
	tracer      trace.Tracer // nil: no spans
}

// NewLoop returns a command loop over store. now is the clock handed to decisions.
func NewLoop(store Store, registry *domain.Registry, now func() time.Time) *Loop {
	return &Loop{store: store, registry: registry, now: now, maxAttempts: 25}
}

// Result is what a command appended.
type Result struct {
	// Position is the global position of the last appended event (0 when nothing was
	// appended): wait for it to read your own write.
	Position int64
	Events   []domain.Envelope
}

// Execute runs cmd on behalf of actor.
func (l *Loop) Execute(ctx context.Context, cmd domain.Command, actor domain.Actor) (Result, error) {
	if l.tracer == nil {
		return l.execute(ctx, cmd, actor)
	}
	// The command's type names the span (token.Issue, grant.Redeem): a bounded set, and
	// nothing of the command's content, which may hold hashes of secrets.
	ctx, span := l.tracer.Start(ctx, "command "+strings.TrimPrefix(fmt.Sprintf("%T", cmd), "*"))
	defer span.End()
	res, err := l.execute(ctx, cmd, actor)
	if err != nil {
		span.SetStatus(codes.Error, AppendOutcome(err))
	} else {
		span.SetAttributes(attribute.Int64("paylent.position", res.Position))
	}
	return res, err
}

// Traced returns the loop with each Execute in a span of tr (nil: none).
func (l *Loop) Traced(tr trace.Tracer) *Loop {
	c := *l
	c.tracer = tr
	return &c
}

func (l *Loop) execute(ctx context.Context, cmd domain.Command, actor domain.Actor) (Result, error) {
	refs := cmd.Streams()
	for attempt := 1; ; attempt++ {
		res, err := l.attempt(ctx, cmd, refs, actor)
		if !errors.Is(err, ErrConflict) || attempt == l.maxAttempts {
			return res, err
		}
		// Someone appended between our read and our write: back off a little (jittered, so
		// that contenders spread out), re-read, and decide again on the new history.
		wait := time.Duration(rand.IntN(1<<min(attempt, 6))) * time.Millisecond
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (l *Loop) attempt(ctx context.Context, cmd domain.Command, refs []domain.StreamRef, actor domain.Actor) (Result, error) {
	history := make([][]domain.Event, len(refs))
	versions := make([]int64, len(refs))
	for i, ref := range refs {
		if ref.Fresh {
			continue
		}
		envs, err := l.store.ReadStream(ctx, ref.Stream)
		if err != nil {
			return Result{}, fmt.Errorf("load %s: %w", ref.Stream, err)
		}
		for _, env := range envs {
			if env.Environment != ref.Environment {
				return Result{}, domain.Invalid("environment", "stream %s belongs to environment %s", ref.Stream, env.Environment)
			}
			rec, err := l.registry.DecodeEnvelope(env)
			if err != nil {
				return Result{}, fmt.Errorf("load %s: %w", ref.Stream, err)
			}
			history[i] = append(history[i], rec.Event)
			versions[i] = env.StreamVersion
		}
	}
	now := NormalizeTime(l.now())
	decided, err := cmd.Decide(history, now)
	if err != nil {
		return Result{}, err
	}
	if len(decided) > len(refs) {
		return Result{}, fmt.Errorf("command decided events for %d streams but names %d", len(decided), len(refs))
	}
	var appends, guards []StreamAppend
	for i, ref := range refs {
		if ref.Guard && (i >= len(decided) || len(decided[i]) == 0) {
			guards = append(guards, StreamAppend{Environment: ref.Environment, Stream: ref.Stream, ExpectedVersion: versions[i]})
		}
	}
	for i, evs := range decided {
		if len(evs) == 0 {
			continue
		}
		a := StreamAppend{Environment: refs[i].Environment, Stream: refs[i].Stream, ExpectedVersion: versions[i]}
		for _, e := range evs {
			typ, ver, data, err := l.registry.Encode(e)
			if err != nil {
				return Result{}, err
			}
			a.Events = append(a.Events, NewEvent{Type: typ, SchemaVersion: ver, Data: data, OccurredAt: now, Actor: actor})
		}
		appends = append(appends, a)
	}
	if len(appends) == 0 {
		return Result{}, nil
	}
	envs, err := l.store.Append(ctx, append(appends, guards...)...)
	if err != nil {
		return Result{}, err
	}
	return Result{Position: envs[len(envs)-1].Position, Events: envs}, nil
}

// Read decodes a stream's history (its events, oldest first), for an operation that must
// know an aggregate's state before it chooses the command to run.
func (l *Loop) Read(ctx context.Context, ref domain.StreamRef) ([]domain.Event, error) {
	envs, err := l.store.ReadStream(ctx, ref.Stream)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref.Stream, err)
	}
	out := make([]domain.Event, 0, len(envs))
	for _, env := range envs {
		if env.Environment != ref.Environment {
			return nil, domain.ErrNotFound // another environment's stream is unknown here
		}
		rec, err := l.registry.DecodeEnvelope(env)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", ref.Stream, err)
		}
		out = append(out, rec.Event)
	}
	return out, nil
}
