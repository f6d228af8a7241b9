package domain

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Upcaster rewrites the JSON of one schema version of an event into the next version.
type Upcaster func(data []byte) ([]byte, error)

type registration struct {
	version   int
	decode    func([]byte) (Event, error)
	upcasters []Upcaster // upcasters[i] turns version i+1 into version i+2
}

// Registry knows every event type, its current schema version, and how to read older
// versions. It is built once at start (see domain/eventtypes) and only read afterwards.
type Registry struct {
	types map[string]*registration
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]*registration{}} }

// Register adds event type E at the given schema version. upcasters[i] turns the stored
// JSON of version i+1 into version i+2, so len(upcasters) must be version-1.
func Register[E Event](r *Registry, version int, upcasters ...Upcaster) {
	var zero E
	typ := zero.EventType()
	if version < 1 || len(upcasters) != version-1 {
		panic(fmt.Sprintf("register %s: version %d needs %d upcasters, got %d", typ, version, version-1, len(upcasters)))
	}
	if _, dup := r.types[typ]; dup {
		panic("register " + typ + ": registered twice")
	}
	r.types[typ] = &registration{
		version:   version,
		upcasters: upcasters,
		decode: func(b []byte) (Event, error) {
			var e E
			if err := json.Unmarshal(b, &e); err != nil {
				return nil, err
			}
			return e, nil
		},
	}
}

// Types lists the registered event types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Encode returns the stored form of e: its type, current schema version and JSON.
func (r *Registry) Encode(e Event) (typ string, version int, data []byte, err error) {
	typ = e.EventType()
	reg, ok := r.types[typ]
	if !ok {
		return "", 0, nil, fmt.Errorf("encode %s: %w", typ, ErrUnknownEvent)
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return typ, reg.version, data, nil
}

// Decode reads stored JSON of the given type and schema version, upcasting it to the
// current version first.
func (r *Registry) Decode(typ string, version int, data []byte) (Event, error) {
	reg, ok := r.types[typ]
	if !ok {
		return nil, fmt.Errorf("event type %q: %w", typ, ErrUnknownEvent)
	}
	if version < 1 || version > reg.version {
		return nil, fmt.Errorf("event type %q schema version %d (this build knows 1..%d): %w", typ, version, reg.version, ErrUnknownEvent)
	}
	for v := version; v < reg.version; v++ {
		up, err := reg.upcasters[v-1](data)
		if err != nil {
			return nil, fmt.Errorf("upcast %s from version %d: %w: %v", typ, v, ErrMalformedEvent, err)
		}
		data = up
	}
	e, err := reg.decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w: %v", typ, ErrMalformedEvent, err)
	}
	return e, nil
}

// DecodeEnvelope decodes an envelope's payload into a Record.
func (r *Registry) DecodeEnvelope(env Envelope) (Record, error) {
	e, err := r.Decode(env.Type, env.SchemaVersion, env.Data)
	if err != nil {
		return Record{}, fmt.Errorf("event at position %d: %w", env.Position, err)
	}
	return Record{Envelope: env, Event: e}, nil
}
