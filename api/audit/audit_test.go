package audit_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/api/audit"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/eventstore/storetest"
)

// seed appends n events to env-a (user.created of u<i> by operator op<i%2>, one minute
// apart) and, between each, one to env-b.
func seed(t *testing.T, n int) *eventstore.Memory {
	t.Helper()
	s := eventstore.NewMemory()
	at := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := storetest.Event("user.created", i)
		e.OccurredAt = at.Add(time.Duration(i) * time.Minute)
		e.Actor = domain.Actor{Kind: domain.ActorOperator, ID: fmt.Sprintf("op%d", i%2)}
		if _, err := s.Append(t.Context(), eventstore.StreamAppend{Environment: "env-a", Stream: fmt.Sprintf("user/u%d", i), Events: []eventstore.NewEvent{e}},
			eventstore.StreamAppend{Environment: "env-b", Stream: fmt.Sprintf("client/c%d", i), Events: []eventstore.NewEvent{storetest.Event("client.registered", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func positions(p audit.Page) string {
	out := []int64{}
	for _, e := range p.Events {
		out = append(out, e.Position)
	}
	return fmt.Sprintf("%v next %d newest %d", out, p.Next, p.Newest)
}

func TestScan(t *testing.T) {
	s := seed(t, 5) // env-a at positions 1 3 5 7 9
	at := func(m int) time.Time { return time.Date(2026, 1, 2, 10, m, 0, 0, time.UTC) }
	cases := []struct {
		name string
		q    audit.Query
		want string
	}{
		{"oldest", audit.Query{Limit: 2}, "[1 3] next 3 newest 3"},
		{"oldest after cursor", audit.Query{Cursor: 3, Limit: 2}, "[5 7] next 7 newest 7"},
		{"oldest to the end", audit.Query{Cursor: 5}, "[7 9] next 0 newest 9"},
		{"limit reached at the end", audit.Query{Cursor: 5, Limit: 2}, "[7 9] next 0 newest 9"},
		{"newest", audit.Query{Order: audit.Newest, Limit: 2}, "[9 7] next 7 newest 9"},
		{"newest before cursor", audit.Query{Order: audit.Newest, Cursor: 7, Limit: 2}, "[5 3] next 3 newest 5"},
		{"newest to the start", audit.Query{Order: audit.Newest, Cursor: 4}, "[3 1] next 0 newest 3"},
		{"actor", audit.Query{Order: audit.Newest, Filter: audit.Filter{Actor: "op0"}}, "[7 3] next 0 newest 9"},
		{"subject id", audit.Query{Filter: audit.Filter{Subject: "u3"}}, "[5] next 0 newest 9"},
		{"subject stream", audit.Query{Filter: audit.Filter{Subject: "user/u3"}}, "[5] next 0 newest 9"},
		{"type prefix", audit.Query{Filter: audit.Filter{Type: "user."}, Limit: 1}, "[1] next 1 newest 1"},
		{"type of another env", audit.Query{Filter: audit.Filter{Type: "client.registered"}}, "[] next 0 newest 9"},
		{"time range", audit.Query{Order: audit.Newest, Filter: audit.Filter{From: at(2), To: at(4)}}, "[7 5 3] next 0 newest 9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := audit.Scan(t.Context(), s, "env-a", tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := positions(p); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// Paging newest first by next cursor visits every event once, across read batches.
func TestScanPagesBackwards(t *testing.T) {
	s := seed(t, 1500)
	seen, cursor := 0, int64(0)
	last := int64(1 << 62)
	for page := 0; page < 10; page++ {
		p, err := audit.Scan(t.Context(), s, "env-a", audit.Query{Order: audit.Newest, Cursor: cursor, Limit: 400})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			if e.Position >= last {
				t.Fatalf("position %d after %d: not newest first", e.Position, last)
			}
			last = e.Position
		}
		seen += len(p.Events)
		if p.Next == 0 {
			break
		}
		cursor = p.Next
	}
	if seen != 1500 {
		t.Errorf("paged through %d events, want 1500", seen)
	}
}

func TestParse(t *testing.T) {
	q := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	bad := map[string]func(string) string{
		"from": q("from", "yesterday"),
		"to":   q("from", "2026-01-02T10:00:00Z", "to", "2026-01-01T10:00:00Z"),
		"type": q("type", string(make([]byte, 401))),
	}
	for field, get := range bad {
		var ve *domain.ValidationError
		if _, err := audit.ParseFilter(get); !errors.As(err, &ve) || ve.Field != field {
			t.Errorf("%s: %v, want a validation error of %s", field, err, field)
		}
	}
	f, err := audit.ParseFilter(q("type", " user. ", "from", "2026-01-02T10:00:00+01:00"))
	if err != nil || f.Type != "user." || !f.From.Equal(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseFilter: %+v %v", f, err)
	}
	for in, want := range map[string]audit.Order{"": audit.Oldest, "oldest": audit.Oldest, "newest": audit.Newest} {
		if o, err := audit.ParseOrder(in); err != nil || o != want {
			t.Errorf("ParseOrder(%q) = %q %v", in, o, err)
		}
	}
	if _, err := audit.ParseOrder("NEWEST"); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("ParseOrder(NEWEST): %v", err)
	}
	for _, in := range []string{"-1", "x", "1.5"} {
		if _, err := audit.ParsePosition("cursor", in); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ParsePosition(%q): %v", in, err)
		}
	}
}

func TestRedactEnvelopes(t *testing.T) {
	in := []domain.Envelope{{Position: 1, Data: json.RawMessage(`{"user_id":"u1","password_hash":"$argon2id$x","n":9007199254740993,"keys":[{"private_key":"sealed","kid":"k"}]}`)}}
	out := audit.RedactEnvelopes(in)
	want := `{"keys":[{"kid":"k","private_key":"(hidden)"}],"n":9007199254740993,"password_hash":"(hidden)","user_id":"u1"}`
	if string(out[0].Data) != want {
		t.Fatalf("got %s", out[0].Data)
	}
	if !strings.Contains(string(in[0].Data), "$argon2id$x") {
		t.Fatal("the input was changed")
	}
}
