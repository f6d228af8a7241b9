package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
)

// Bounds of one scan and of the filter fields.
const (
	// MaxScan bounds how many events one scan reads, matching or not.
	MaxScan = 20_000
	// MaxLimit bounds how many matching events one scan returns.
	MaxLimit = 1000
	batch    = 1000
	maxField = 400
)

// Order is the direction of a scan.
type Order string

// The orders.
const (
	Oldest Order = "oldest"
	Newest Order = "newest"
)

// Store is what a scan reads: one environment's events, forwards or backwards
// (eventstore.Store has both).
type Store interface {
	ReadEnvironment(ctx context.Context, environment string, after int64, limit int) ([]domain.Envelope, error)
	ReadEnvironmentBefore(ctx context.Context, environment string, before int64, limit int) ([]domain.Envelope, error)
}

// Filter selects events. Empty fields select everything.
type Filter struct {
	// Type is an exact event type, or a prefix ending in "." ("user." for every user event).
	Type string
	// Actor is the id of the actor (a user, client or operator id).
	Actor string
	// Subject is a stream ("user/u1"), or the id at its end ("u1").
	Subject string
	// From and To bound occurred_at, both inclusive.
	From, To time.Time
}

// Query is a filter with where to start, in which order, and how many to return.
type Query struct {
	Filter
	Order Order
	// Cursor is a position: oldest first, the scan starts after it; newest first, before it
	// (0: at the head).
	Cursor int64
	Limit  int
}

// Page is what a scan found.
type Page struct {
	// Events match the filter, in the query's order.
	Events []domain.Envelope
	// Next continues the scan in the same order (the Cursor of the next query); 0 when the
	// log has no more events in that direction.
	Next int64
	// Newest is the highest position the scan examined (0 if none): a live view asks for
	// events after it.
	Newest int64
}

// ParseFilter reads type, actor, subject, from and to (RFC 3339) with get (a query
// parameter lookup). Bad input is a *domain.ValidationError naming the parameter.
func ParseFilter(get func(string) string) (Filter, error) {
	f := Filter{Type: strings.TrimSpace(get("type")), Actor: strings.TrimSpace(get("actor")),
		Subject: strings.TrimSpace(get("subject"))}
	for name, v := range map[string]string{"type": f.Type, "actor": f.Actor, "subject": f.Subject} {
		if len(v) > maxField {
			return f, domain.Invalid(name, "must be at most %d characters", maxField)
		}
	}
	var err error
	if f.From, err = parseTime("from", get("from")); err != nil {
		return f, err
	}
	if f.To, err = parseTime("to", get("to")); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, domain.Invalid("to", "must not be before from")
	}
	return f, nil
}

func parseTime(name, v string) (time.Time, error) {
	if v = strings.TrimSpace(v); v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, domain.Invalid(name, "must be an RFC 3339 time, like 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// ParseOrder reads an order; "" is Oldest.
func ParseOrder(v string) (Order, error) {
	switch Order(v) {
	case "", Oldest:
		return Oldest, nil
	case Newest:
		return Newest, nil
	}
	return "", domain.Invalid("order", "must be %q or %q", Oldest, Newest)
}

// ParsePosition reads a cursor parameter: a non-negative position ("" is 0).
func ParsePosition(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	p, err := strconv.ParseInt(v, 10, 64)
	if err != nil || p < 0 {
		return 0, domain.Invalid(name, "must be a position (a non-negative integer)")
	}
	return p, nil
}

// Match reports whether e passes the filter.
func (f Filter) Match(e domain.Envelope) bool {
	switch {
	case f.Type != "" && e.Type != f.Type && !(strings.HasSuffix(f.Type, ".") && strings.HasPrefix(e.Type, f.Type)):
		return false
	case f.Subject != "" && e.Stream != f.Subject && !strings.HasSuffix(e.Stream, "/"+f.Subject):
		return false
	case !f.From.IsZero() && e.OccurredAt.Before(f.From), !f.To.IsZero() && e.OccurredAt.After(f.To):
		return false
	case f.Actor != "":
		var a domain.Actor
		if json.Unmarshal(e.Actor, &a) != nil || a.ID != f.Actor {
			return false
		}
	}
	return true
}

// Scan reads the environment's log from the query's cursor in its order, reading at most
// MaxScan events, and returns up to Limit (1 to MaxLimit; 0 means 100) that match.
func Scan(ctx context.Context, s Store, environment string, q Query) (Page, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, MaxLimit)
	read := func(pos int64) ([]domain.Envelope, error) {
		return s.ReadEnvironment(ctx, environment, pos, batch)
	}
	if q.Order == Newest {
		read = func(pos int64) ([]domain.Envelope, error) {
			return s.ReadEnvironmentBefore(ctx, environment, pos, batch)
		}
	}
	page := Page{Events: []domain.Envelope{}}
	pos := q.Cursor
	for scanned := 0; scanned < MaxScan; {
		evs, err := read(pos)
		if err != nil {
			return Page{}, err
		}
		rest := len(evs)
		for _, e := range evs {
			rest--
			pos, page.Newest = e.Position, max(page.Newest, e.Position)
			if q.Filter.Match(e) {
				if page.Events = append(page.Events, e); len(page.Events) == q.Limit {
					break
				}
			}
		}
		scanned += len(evs)
		if len(evs) < batch && rest == 0 {
			return page, nil // the whole log in this direction was read
		}
		if len(page.Events) == q.Limit {
			break
		}
	}
	page.Next = pos
	return page, nil
}

// Redact replaces, at any depth of decoded event data, the values of fields that hold
// credential material (private_key, *_hash) with "(hidden)". Events hold no secrets, but a
// password hash can be attacked offline and an (encrypted) private key has no business in a
// query answer. The event stream (`/api/v1/events`, `paylent events`) keeps the data
// exactly as stored: the hash chain is verified over it.
func Redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "private_key" || strings.HasSuffix(k, "_hash") {
				x[k] = "(hidden)"
			} else {
				x[k] = Redact(val)
			}
		}
	case []any:
		for i := range x {
			x[i] = Redact(x[i])
		}
	}
	return v
}

// RedactEnvelopes returns the envelopes with their data redacted (see Redact).
func RedactEnvelopes(evs []domain.Envelope) []domain.Envelope {
	out := make([]domain.Envelope, len(evs))
	for i, e := range evs {
		var v any
		dec := json.NewDecoder(bytes.NewReader(e.Data))
		dec.UseNumber() // numbers stay exactly as stored
		if dec.Decode(&v) == nil {
			if b, err := json.Marshal(Redact(v)); err == nil {
				e.Data = b
			}
		}
		out[i] = e
	}
	return out
}
