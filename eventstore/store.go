package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paylent/paylent/domain"
)

// Expected stream versions with a special meaning.
const (
	// ExpectAny appends whatever the stream's version is.
	ExpectAny int64 = -1
	// ExpectNoStream appends only if the stream has no events yet.
	ExpectNoStream int64 = 0
)

// Limits on what one append may carry.
const (
	MaxStreamName = 200
	MaxEventData  = 256 << 10
)

// Errors of the store.
var (
	// ErrConflict: a stream's version was not the expected one. Match with errors.Is; the
	// concrete error is a *ConflictError.
	ErrConflict = errors.New("stream version conflict")
	// ErrUnavailable: the database cannot be reached; the write did not happen (or, for a
	// lost commit acknowledgement, may have: commands are safe to retry).
	ErrUnavailable = errors.New("event store unavailable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("event store closed")
)

// ConflictError names the stream whose version did not match.
type ConflictError struct {
	Stream   string
	Expected int64
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("stream %s: expected version %d, found %d", e.Stream, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// NewEvent is an event about to be appended.
type NewEvent struct {
	Type          string
	SchemaVersion int
	Data          json.RawMessage
	OccurredAt    time.Time
	Actor         domain.Actor
}

// StreamAppend appends events to one stream if its version is ExpectedVersion.
type StreamAppend struct {
	Environment     string
	Stream          string
	ExpectedVersion int64
	Events          []NewEvent
}

// ChainHead is the newest link of an environment's hash chain.
type ChainHead struct {
	Position int64
	Hash     []byte
	Events   int64
}

// Store is the event log. Every implementation passes storetest.Run.
type Store interface {
	// Append writes the given stream appends atomically: all of them or none. Each event
	// gets the next global position; positions are dense and increase in commit order.
	Append(ctx context.Context, appends ...StreamAppend) ([]domain.Envelope, error)
	// ReadStream returns a stream's events in version order (none for an unknown stream).
	ReadStream(ctx context.Context, stream string) ([]domain.Envelope, error)
	// ReadAll returns up to limit events with position > after, in position order.
	ReadAll(ctx context.Context, after int64, limit int) ([]domain.Envelope, error)
	// ReadEnvironment is ReadAll restricted to one environment.
	ReadEnvironment(ctx context.Context, environment string, after int64, limit int) ([]domain.Envelope, error)
	// ReadEnvironmentBefore returns up to limit of the environment's events with position <
	// before, newest first; before <= 0 reads from the head. It pages backwards: the next
	// page is before the last position returned.
	ReadEnvironmentBefore(ctx context.Context, environment string, before int64, limit int) ([]domain.Envelope, error)
	// Head is the highest committed position (0 when the log is empty).
	Head(ctx context.Context) (int64, error)
	// EnvironmentHead is the environment's newest chain link (zero value when it has none).
	EnvironmentHead(ctx context.Context, environment string) (ChainHead, error)
}

// DefaultReadLimit is used when a read passes limit <= 0.
const DefaultReadLimit = 1000

func validateAppends(appends []StreamAppend) error {
	if len(appends) == 0 {
		return domain.Invalid("appends", "nothing to append")
	}
	seen := make(map[string]bool, len(appends))
	events := 0
	for _, a := range appends {
		events += len(a.Events)
		switch {
		case a.Stream == "" || len(a.Stream) > MaxStreamName:
			return domain.Invalid("stream", "must be 1 to %d bytes", MaxStreamName)
		case seen[a.Stream]:
			return domain.Invalid("stream", "stream %s appears twice in one append", a.Stream)
		case a.Environment == "" || len(a.Environment) > MaxStreamName:
			return domain.Invalid("environment", "must be 1 to %d bytes", MaxStreamName)
		case a.ExpectedVersion < ExpectAny:
			return domain.Invalid("expected_version", "must be >= -1")
		case len(a.Events) == 0 && a.ExpectedVersion == ExpectAny:
			return domain.Invalid("events", "stream %s: no events (an append without events only checks a version)", a.Stream)
		}
		seen[a.Stream] = true
		for _, e := range a.Events {
			switch {
			case !validType(e.Type):
				return domain.Invalid("type", "%q is not of the form <aggregate>.<event> in lower case", e.Type)
			case e.SchemaVersion < 1:
				return domain.Invalid("schema_version", "must be >= 1")
			case len(e.Data) > MaxEventData:
				return domain.Invalid("data", "event %s is larger than %d bytes", e.Type, MaxEventData)
			case !json.Valid(e.Data):
				return domain.Invalid("data", "event %s: not valid JSON", e.Type)
			case e.OccurredAt.IsZero():
				return domain.Invalid("occurred_at", "event %s: missing", e.Type)
			}
		}
	}
	if events == 0 {
		return domain.Invalid("events", "no events: an append of version checks alone writes nothing")
	}
	return nil
}

// validType accepts "<aggregate>.<event>" of lower-case letters, digits and underscores: the
// type becomes the last two tokens of the event's NATS subject.
func validType(t string) bool {
	if len(t) < 3 || len(t) > 100 {
		return false
	}
	dots := 0
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c == '.' && i > 0 && i < len(t)-1 && t[i-1] != '.':
			dots++
		default:
			return false
		}
	}
	return dots == 1
}
