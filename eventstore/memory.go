package eventstore

import (
	"context"
	"sync"

	"github.com/google/uuid"
	"github.com/paylent/paylent/domain"
)

// Memory is an in-memory Store for fast unit tests of pure logic. It keeps the same
// guarantees as the PostgreSQL store (it passes the same conformance suite) but nothing
// survives the process.
type Memory struct {
	mu      sync.RWMutex
	events  []domain.Envelope
	streams map[string][]int // stream → indexes into events
	heads   map[string]ChainHead
	info    map[string]streamInfo
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{streams: map[string][]int{}, heads: map[string]ChainHead{}, info: map[string]streamInfo{}}
}

// Append implements Store.
func (m *Memory) Append(ctx context.Context, appends ...StreamAppend) ([]domain.Envelope, error) {
	if err := validateAppends(appends); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := &planner{
		next:    int64(len(m.events)) + 1,
		streams: map[string]streamInfo{},
		heads:   map[string]ChainHead{},
		newID:   func() string { return uuid.Must(uuid.NewV7()).String() },
	}
	for _, a := range appends {
		p.streams[a.Stream] = m.info[a.Stream]
		p.heads[a.Environment] = m.heads[a.Environment]
	}
	out, err := p.plan(appends)
	if err != nil {
		return nil, err
	}
	for _, e := range out {
		m.streams[e.Stream] = append(m.streams[e.Stream], len(m.events))
		m.events = append(m.events, e)
	}
	for s, i := range p.streams {
		m.info[s] = i
	}
	for env, h := range p.heads {
		m.heads[env] = h
	}
	return out, nil
}

// ReadStream implements Store.
func (m *Memory) ReadStream(ctx context.Context, stream string) ([]domain.Envelope, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]domain.Envelope, 0, len(m.streams[stream]))
	for _, i := range m.streams[stream] {
		out = append(out, m.events[i])
	}
	return out, ctx.Err()
}

// ReadAll implements Store.
func (m *Memory) ReadAll(ctx context.Context, after int64, limit int) ([]domain.Envelope, error) {
	return m.read(ctx, "", after, limit)
}

// ReadEnvironment implements Store.
func (m *Memory) ReadEnvironment(ctx context.Context, environment string, after int64, limit int) ([]domain.Envelope, error) {
	return m.read(ctx, environment, after, limit)
}

// ReadEnvironmentBefore implements Store.
func (m *Memory) ReadEnvironmentBefore(ctx context.Context, environment string, before int64, limit int) ([]domain.Envelope, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	// Position p is at index p-1: positions < before are the indexes < before-1.
	end := int64(len(m.events))
	if before > 0 && before-1 < end {
		end = before - 1
	}
	var out []domain.Envelope
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		if m.events[i].Environment == environment {
			out = append(out, m.events[i])
		}
	}
	return out, ctx.Err()
}

func (m *Memory) read(ctx context.Context, environment string, after int64, limit int) ([]domain.Envelope, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	if after < 0 {
		after = 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []domain.Envelope
	for i := after; i < int64(len(m.events)) && len(out) < limit; i++ {
		if environment == "" || m.events[i].Environment == environment {
			out = append(out, m.events[i])
		}
	}
	return out, ctx.Err()
}

// Head implements Store.
func (m *Memory) Head(ctx context.Context) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int64(len(m.events)), ctx.Err()
}

// EnvironmentHead implements Store.
func (m *Memory) EnvironmentHead(ctx context.Context, environment string) (ChainHead, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.heads[environment], ctx.Err()
}
