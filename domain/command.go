package domain

import "time"

// StreamRef names one event stream and the environment it belongs to. Stream names are
// "<aggregate>/<environment>/<id>" so that no two environments can share one.
type StreamRef struct {
	Environment string
	Stream      string
	// Fresh declares that the stream is new (its id was just generated at random, e.g. a
	// token's): the loop skips reading it and appends with ExpectNoStream. That saves a
	// round trip on the hot path; a collision would still fail as a conflict.
	Fresh bool
	// Guard declares that the decision depends on the stream's state although it appends
	// nothing there: the append fails as a conflict (and the command decides again) if the
	// stream changed since it was read. A token decision guards its user and client, so a
	// user disabled or a client deleted concurrently cannot be missed.
	Guard bool
}

// Command is a request to change state, decided purely from the history of the streams it
// names. The event store's command loop loads each stream, calls Decide, and appends the
// result atomically with optimistic concurrency, retrying on conflict; nothing else writes.
type Command interface {
	// Streams lists the streams the command reads and may append to.
	Streams() []StreamRef
	// Decide receives each stream's decoded history (in Streams order) and returns the new
	// events per stream (same order; nil for none), or an error when the command is refused.
	Decide(history [][]Event, now time.Time) ([][]Event, error)
}
