package domain

import (
	"encoding/json"
	"time"
)

// Event is the payload of one change of state. Each aggregate package declares its events as
// plain structs with JSON tags and registers them in a Registry.
type Event interface {
	// EventType names the event as "<aggregate>.<verb_past>", e.g. "environment.created".
	// A stored type is never renamed.
	EventType() string
}

// ActorKind says who caused an event.
type ActorKind string

// The kinds of actor.
const (
	ActorUser     ActorKind = "user"
	ActorClient   ActorKind = "client"
	ActorOperator ActorKind = "operator"
	ActorSystem   ActorKind = "system"
)

// Actor is who caused an event, with where they came from when known.
type Actor struct {
	Kind      ActorKind `json:"kind"`
	ID        string    `json:"id,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
}

// SystemEnvironment is the pseudo-environment of events that belong to no environment
// (accounts, operators). Environment slugs cannot start with an underscore, so it never
// collides with one.
const SystemEnvironment = "_system"

// Envelope is a stored event as it travels: on NATS, in `paylent events`, in exports. Its JSON
// form is a public contract (docs/EVENTS.md); EnvelopeVersion changes only with a new,
// documented layout.
type Envelope struct {
	EnvelopeVersion int             `json:"envelope_version"`
	ID              string          `json:"id"`
	Environment     string          `json:"environment"`
	Stream          string          `json:"stream"`
	StreamVersion   int64           `json:"stream_version"`
	Position        int64           `json:"position"`
	Type            string          `json:"type"`
	SchemaVersion   int             `json:"schema_version"`
	OccurredAt      time.Time       `json:"occurred_at"`
	Actor           json.RawMessage `json:"actor"`
	Data            json.RawMessage `json:"data"`
	Hash            HexBytes        `json:"hash"`
	PrevHash        HexBytes        `json:"prev_hash"`
}

// CurrentEnvelopeVersion is the layout version written by this build.
const CurrentEnvelopeVersion = 1

// Aggregate is the first dot-separated part of the event type ("token" in "token.revoked").
func (e Envelope) Aggregate() string {
	for i := 0; i < len(e.Type); i++ {
		if e.Type[i] == '.' {
			return e.Type[:i]
		}
	}
	return e.Type
}

// Record is a stored event together with its decoded payload.
type Record struct {
	Envelope
	Event Event
}
