package eventstore

import (
	"encoding/json"

	"github.com/paylent/paylent/domain"
)

// streamInfo is what an append needs to know of an existing stream.
type streamInfo struct {
	version     int64
	environment string
}

// planner turns appends into envelopes: it checks expected versions, assigns positions and
// stream versions, and links each environment's hash chain. Both stores use it, the
// PostgreSQL one per group-commit batch, so their envelopes are built identically.
type planner struct {
	next     int64 // next global position
	streams  map[string]streamInfo
	heads    map[string]ChainHead
	newID    func() string
	envelope []domain.Envelope
}

// plan checks and lays out one atomic request. On error nothing of it is kept.
func (p *planner) plan(appends []StreamAppend) ([]domain.Envelope, error) {
	for _, a := range appends {
		info := p.streams[a.Stream]
		if info.version > 0 && info.environment != a.Environment {
			return nil, domain.Invalid("environment", "stream %s belongs to environment %s, not %s", a.Stream, info.environment, a.Environment)
		}
		if a.ExpectedVersion != ExpectAny && a.ExpectedVersion != info.version {
			return nil, &ConflictError{Stream: a.Stream, Expected: a.ExpectedVersion, Actual: info.version}
		}
	}
	var out []domain.Envelope
	for _, a := range appends {
		info := p.streams[a.Stream]
		head := p.heads[a.Environment]
		prev := head.Hash
		if head.Events == 0 {
			prev = GenesisHash
		}
		for _, ne := range a.Events {
			info.version++
			actor, _ := json.Marshal(ne.Actor) // a struct of strings always marshals
			e := domain.Envelope{
				EnvelopeVersion: domain.CurrentEnvelopeVersion,
				ID:              p.newID(),
				Environment:     a.Environment,
				Stream:          a.Stream,
				StreamVersion:   info.version,
				Position:        p.next,
				Type:            ne.Type,
				SchemaVersion:   ne.SchemaVersion,
				OccurredAt:      NormalizeTime(ne.OccurredAt),
				Actor:           actor,
				Data:            append(json.RawMessage(nil), ne.Data...),
				PrevHash:        prev,
			}
			e.Hash = Hash(prev, e)
			prev = e.Hash
			p.next++
			head = ChainHead{Position: e.Position, Hash: e.Hash, Events: head.Events + 1}
			out = append(out, e)
		}
		info.environment = a.Environment
		p.streams[a.Stream] = info
		p.heads[a.Environment] = head
	}
	p.envelope = append(p.envelope, out...)
	return out, nil
}
