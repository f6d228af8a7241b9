package eventstore_test

import (
	"time"

	"github.com/paylent/paylent/domain"
)

// A tiny aggregate for command-loop tests: every increment must be kept.
type incremented struct {
	N int `json:"n"`
}

func (incremented) EventType() string { return "counter.incremented" }

type increment struct{}

func (increment) Streams() []domain.StreamRef {
	return []domain.StreamRef{{Environment: "env-a", Stream: "counter-1"}}
}

func (increment) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	return [][]domain.Event{{incremented{N: len(h[0]) + 1}}}, nil
}

func counterRegistry() *domain.Registry {
	r := domain.NewRegistry()
	domain.Register[incremented](r, 1)
	return r
}
