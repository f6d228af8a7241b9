// Package storetest is the conformance suite every eventstore.Store implementation passes.
// A backend's tests call Run with a constructor for an empty store.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
)

// Run runs the whole suite. newStore must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s eventstore.Store)
	}{
		{"AppendAssignsEnvelope", testAppendAssignsEnvelope},
		{"ExpectedVersions", testExpectedVersions},
		{"MultiStreamAppendIsAtomic", testMultiStreamAtomic},
		{"GuardsCheckVersionsWithoutEvents", testGuards},
		{"StreamStaysInItsEnvironment", testStreamEnvironment},
		{"RejectsBadInput", testRejectsBadInput},
		{"ReadsFromPosition", testReads},
		{"ReadsBackwards", testReadsBackwards},
		{"DataIsKeptByteForByte", testDataExact},
		{"ConcurrentWritersOneStream", testConcurrentOneStream},
		{"ConcurrentWritersManyStreams", testConcurrentManyStreams},
		{"HashChainVerifies", testChainVerifies},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// Event builds a NewEvent with JSON data.
func Event(typ string, data any) eventstore.NewEvent {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return eventstore.NewEvent{Type: typ, SchemaVersion: 1, Data: b,
		OccurredAt: time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.FixedZone("X", 3600)),
		Actor:      domain.Actor{Kind: domain.ActorSystem, ID: "storetest"}}
}

func appendOne(t *testing.T, s eventstore.Store, env, stream string, expected int64, evs ...eventstore.NewEvent) []domain.Envelope {
	t.Helper()
	out, err := s.Append(t.Context(), eventstore.StreamAppend{Environment: env, Stream: stream, ExpectedVersion: expected, Events: evs})
	if err != nil {
		t.Fatalf("append %s: %v", stream, err)
	}
	return out
}

func testAppendAssignsEnvelope(t *testing.T, s eventstore.Store) {
	out := appendOne(t, s, "env-a", "thing-1", eventstore.ExpectNoStream,
		Event("thing.created", map[string]int{"n": 1}), Event("thing.renamed", map[string]int{"n": 2}))
	if len(out) != 2 {
		t.Fatalf("got %d envelopes, want 2", len(out))
	}
	for i, e := range out {
		if e.Position != int64(i+1) || e.StreamVersion != int64(i+1) {
			t.Errorf("event %d: position %d version %d, want %d %d", i, e.Position, e.StreamVersion, i+1, i+1)
		}
		if e.ID == "" || e.Environment != "env-a" || e.Stream != "thing-1" || e.SchemaVersion != 1 {
			t.Errorf("event %d: envelope %+v", i, e)
		}
		want := time.Date(2026, 11, 22, 9, 0, 0, 123456000, time.UTC)
		if !e.OccurredAt.Equal(want) || e.OccurredAt.Location() != time.UTC {
			t.Errorf("occurred_at %v, want %v in UTC", e.OccurredAt, want)
		}
		if e.EnvelopeVersion != domain.CurrentEnvelopeVersion {
			t.Errorf("envelope version %d", e.EnvelopeVersion)
		}
	}
	if out[0].ID == out[1].ID {
		t.Error("two events share an id")
	}
	read, err := s.ReadStream(t.Context(), "thing-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != 2 || !sameEnvelope(read[0], out[0]) || !sameEnvelope(read[1], out[1]) {
		t.Errorf("read back %+v\nwant %+v", read, out)
	}
	var actor domain.Actor
	if err := json.Unmarshal(read[0].Actor, &actor); err != nil || actor.ID != "storetest" {
		t.Errorf("actor %s: %v", read[0].Actor, err)
	}
	if head, err := s.Head(t.Context()); err != nil || head != 2 {
		t.Errorf("head %d, %v; want 2", head, err)
	}
	if none, err := s.ReadStream(t.Context(), "no-such-stream"); err != nil || len(none) != 0 {
		t.Errorf("unknown stream: %v, %v", none, err)
	}
}

func testExpectedVersions(t *testing.T, s eventstore.Store) {
	appendOne(t, s, "env-a", "thing-1", eventstore.ExpectNoStream, Event("thing.created", 1))
	_, err := s.Append(t.Context(), eventstore.StreamAppend{Environment: "env-a", Stream: "thing-1",
		ExpectedVersion: eventstore.ExpectNoStream, Events: []eventstore.NewEvent{Event("thing.created", 2)}})
	var conflict *eventstore.ConflictError
	if !errors.Is(err, eventstore.ErrConflict) || !errors.As(err, &conflict) {
		t.Fatalf("second create: %v, want a conflict", err)
	}
	if conflict.Stream != "thing-1" || conflict.Expected != 0 || conflict.Actual != 1 {
		t.Errorf("conflict %+v", conflict)
	}
	appendOne(t, s, "env-a", "thing-1", 1, Event("thing.renamed", 3))
	appendOne(t, s, "env-a", "thing-1", eventstore.ExpectAny, Event("thing.renamed", 4))
	if _, err := s.Append(t.Context(), eventstore.StreamAppend{Environment: "env-a", Stream: "thing-1",
		ExpectedVersion: 2, Events: []eventstore.NewEvent{Event("thing.renamed", 5)}}); !errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("stale version: %v, want conflict", err)
	}
	if head, _ := s.Head(t.Context()); head != 3 {
		t.Errorf("head %d after refused appends, want 3", head)
	}
}

func testMultiStreamAtomic(t *testing.T, s eventstore.Store) {
	appendOne(t, s, "env-a", "taken", eventstore.ExpectNoStream, Event("thing.created", 1))
	_, err := s.Append(t.Context(),
		eventstore.StreamAppend{Environment: "env-a", Stream: "fresh", ExpectedVersion: 0, Events: []eventstore.NewEvent{Event("thing.created", 2)}},
		eventstore.StreamAppend{Environment: "env-b", Stream: "taken", ExpectedVersion: 0, Events: []eventstore.NewEvent{Event("thing.created", 3)}},
	)
	if err == nil {
		t.Fatal("append with one refused stream succeeded")
	}
	if evs, _ := s.ReadStream(t.Context(), "fresh"); len(evs) != 0 {
		t.Errorf("the accepted half was written: %d events", len(evs))
	}
	out, err := s.Append(t.Context(),
		eventstore.StreamAppend{Environment: "env-a", Stream: "fresh", ExpectedVersion: 0, Events: []eventstore.NewEvent{Event("thing.created", 2)}},
		eventstore.StreamAppend{Environment: "env-b", Stream: "other", ExpectedVersion: 0, Events: []eventstore.NewEvent{Event("thing.created", 3)}},
	)
	if err != nil || len(out) != 2 || out[0].Position != 2 || out[1].Position != 3 {
		t.Fatalf("multi-stream append: %v %+v", err, out)
	}
	if out[1].PrevHash == nil || !bytes.Equal(out[1].PrevHash, eventstore.GenesisHash) {
		t.Error("first event of env-b must link to the genesis hash")
	}
}

func testStreamEnvironment(t *testing.T, s eventstore.Store) {
	appendOne(t, s, "env-a", "thing-1", 0, Event("thing.created", 1))
	_, err := s.Append(t.Context(), eventstore.StreamAppend{Environment: "env-b", Stream: "thing-1",
		ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{Event("thing.renamed", 2)}})
	if !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("append to another environment's stream: %v, want ErrInvalid", err)
	}
}

func testRejectsBadInput(t *testing.T, s eventstore.Store) {
	good := Event("thing.created", 1)
	bad := func(mut func(*eventstore.StreamAppend)) eventstore.StreamAppend {
		a := eventstore.StreamAppend{Environment: "env-a", Stream: "s", Events: []eventstore.NewEvent{good}}
		mut(&a)
		return a
	}
	cases := map[string][]eventstore.StreamAppend{
		"nothing":        nil,
		"no stream":      {bad(func(a *eventstore.StreamAppend) { a.Stream = "" })},
		"no environment": {bad(func(a *eventstore.StreamAppend) { a.Environment = "" })},
		"no events":      {bad(func(a *eventstore.StreamAppend) { a.Events = nil })},
		"bad version":    {bad(func(a *eventstore.StreamAppend) { a.ExpectedVersion = -7 })},
		"bad json": {bad(func(a *eventstore.StreamAppend) {
			a.Events = []eventstore.NewEvent{{Type: "x.y", SchemaVersion: 1, Data: []byte("{"), OccurredAt: time.Now()}}
		})},
		"no type": {bad(func(a *eventstore.StreamAppend) {
			a.Events = []eventstore.NewEvent{{SchemaVersion: 1, Data: []byte("{}"), OccurredAt: time.Now()}}
		})},
		"subject-unsafe type": {bad(func(a *eventstore.StreamAppend) {
			a.Events = []eventstore.NewEvent{{Type: "thing.*.created", SchemaVersion: 1, Data: []byte("{}"), OccurredAt: time.Now()}}
		})},
		"same stream x2": {bad(func(*eventstore.StreamAppend) {}), bad(func(*eventstore.StreamAppend) {})},
	}
	for name, appends := range cases {
		if _, err := s.Append(t.Context(), appends...); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if head, _ := s.Head(t.Context()); head != 0 {
		t.Errorf("bad input wrote events: head %d", head)
	}
}

func testReads(t *testing.T, s eventstore.Store) {
	for i := 0; i < 10; i++ {
		env := []string{"env-a", "env-b"}[i%2]
		appendOne(t, s, env, fmt.Sprintf("s-%d", i), 0, Event("thing.created", i))
	}
	all, err := s.ReadAll(t.Context(), 3, 4)
	if err != nil || len(all) != 4 || all[0].Position != 4 || all[3].Position != 7 {
		t.Fatalf("ReadAll(3, 4) = %d events, %v", len(all), err)
	}
	envB, err := s.ReadEnvironment(t.Context(), "env-b", 4, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, e := range envB {
		got = append(got, e.Position)
	}
	if fmt.Sprint(got) != "[6 8 10]" {
		t.Errorf("ReadEnvironment(env-b, after 4) positions %v, want [6 8 10]", got)
	}
	if rest, _ := s.ReadAll(t.Context(), 10, 5); len(rest) != 0 {
		t.Errorf("read past the head: %d events", len(rest))
	}
	if def, _ := s.ReadAll(t.Context(), 0, 0); len(def) != 10 {
		t.Errorf("default limit read %d events", len(def))
	}
}

func testReadsBackwards(t *testing.T, s eventstore.Store) {
	for i := 0; i < 10; i++ {
		env := []string{"env-a", "env-b"}[i%2]
		appendOne(t, s, env, fmt.Sprintf("s-%d", i), 0, Event("thing.created", i))
	}
	cases := []struct {
		env    string
		before int64
		limit  int
		want   string
	}{
		{"env-b", 0, 2, "[10 8]"},
		{"env-b", 8, 100, "[6 4 2]"},
		{"env-a", 9, 2, "[7 5]"},
		{"env-a", -5, 0, "[9 7 5 3 1]"},
		{"env-b", 1000, 0, "[10 8 6 4 2]"},
		{"env-b", 2, 10, "[]"},
		{"env-b", 1, 10, "[]"},
		{"env-none", 0, 10, "[]"},
	}
	for _, tc := range cases {
		evs, err := s.ReadEnvironmentBefore(t.Context(), tc.env, tc.before, tc.limit)
		if err != nil {
			t.Fatalf("ReadEnvironmentBefore(%s, %d, %d): %v", tc.env, tc.before, tc.limit, err)
		}
		got := []int64{}
		for _, e := range evs {
			got = append(got, e.Position)
			if e.Environment != tc.env {
				t.Errorf("ReadEnvironmentBefore(%s) returned an event of %s", tc.env, e.Environment)
			}
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("ReadEnvironmentBefore(%s, before %d, limit %d) positions %v, want %s", tc.env, tc.before, tc.limit, got, tc.want)
		}
	}
	// A backward page is the same envelopes as a forward read, byte for byte.
	fwd, _ := s.ReadEnvironment(t.Context(), "env-a", 0, 0)
	back, _ := s.ReadEnvironmentBefore(t.Context(), "env-a", 0, 0)
	if len(fwd) != 5 || len(back) != 5 {
		t.Fatalf("env-a: %d forward, %d backward events, want 5", len(fwd), len(back))
	}
	for i := range fwd {
		if !sameEnvelope(fwd[i], back[len(back)-1-i]) {
			t.Errorf("position %d differs read backwards", fwd[i].Position)
		}
	}
}

func testDataExact(t *testing.T, s eventstore.Store) {
	raw := json.RawMessage(`{"z": 1,  "a" : [true, null], "u": "caf\u00e9 \ud83d\ude00"}`)
	e := Event("thing.created", nil)
	e.Data = raw
	appendOne(t, s, "env-a", "exact", 0, e)
	got, err := s.ReadStream(t.Context(), "exact")
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, raw) {
		t.Fatalf("data came back as %s (%v), want %s", got[0].Data, err, raw)
	}
}

func testConcurrentOneStream(t *testing.T, s eventstore.Store) {
	appendOne(t, s, "env-a", "hot", 0, Event("thing.created", 0))
	const writers = 16
	var wg sync.WaitGroup
	wins := make(chan int64, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Append(context.Background(), eventstore.StreamAppend{Environment: "env-a", Stream: "hot",
				ExpectedVersion: 1, Events: []eventstore.NewEvent{Event("thing.renamed", w)}})
			if err == nil {
				wins <- 1
			} else if !errors.Is(err, eventstore.ErrConflict) {
				t.Errorf("writer %d: %v", w, err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if len(wins) != 1 {
		t.Errorf("%d writers won version 2, want exactly 1", len(wins))
	}
}

func testConcurrentManyStreams(t *testing.T, s eventstore.Store) {
	const writers, each = 16, 25
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				env := []string{"env-a", "env-b", "env-c"}[(w+i)%3]
				_, err := s.Append(context.Background(), eventstore.StreamAppend{Environment: env,
					Stream: fmt.Sprintf("w%d-%d", w, i), Events: []eventstore.NewEvent{Event("thing.created", i)}})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	all, err := s.ReadAll(t.Context(), 0, writers*each+10)
	if err != nil || len(all) != writers*each {
		t.Fatalf("read %d events (%v), want %d", len(all), err, writers*each)
	}
	ids := map[string]bool{}
	for i, e := range all {
		if e.Position != int64(i+1) {
			t.Fatalf("position %d at index %d: positions must be dense", e.Position, i)
		}
		if ids[e.ID] {
			t.Fatalf("duplicate id %s", e.ID)
		}
		ids[e.ID] = true
	}
	for _, env := range []string{"env-a", "env-b", "env-c"} {
		if _, err := eventstore.Verify(t.Context(), s, env); err != nil {
			t.Errorf("verify %s: %v", env, err)
		}
	}
}

func testChainVerifies(t *testing.T, s eventstore.Store) {
	for i := 0; i < 5; i++ {
		appendOne(t, s, "env-a", fmt.Sprintf("s-%d", i%2), eventstore.ExpectAny, Event("thing.touched", i))
		appendOne(t, s, "env-b", "b", eventstore.ExpectAny, Event("thing.touched", i))
	}
	rep, err := eventstore.Verify(t.Context(), s, "env-a")
	if err != nil || rep.Events != 5 || rep.Head != 9 {
		t.Fatalf("verify env-a: %+v %v", rep, err)
	}
	empty, err := eventstore.Verify(t.Context(), s, "env-none")
	if err != nil || empty.Events != 0 {
		t.Errorf("verify of an empty environment: %+v %v", empty, err)
	}
	head, err := s.EnvironmentHead(t.Context(), "env-b")
	if err != nil || head.Events != 5 || head.Position != 10 || len(head.Hash) != 32 {
		t.Errorf("env-b head %+v %v", head, err)
	}
}

func sameEnvelope(a, b domain.Envelope) bool {
	return a.ID == b.ID && a.Position == b.Position && a.Stream == b.Stream && a.StreamVersion == b.StreamVersion &&
		a.Type == b.Type && a.OccurredAt.Equal(b.OccurredAt) && bytes.Equal(a.Data, b.Data) &&
		bytes.Equal(a.Actor, b.Actor) && bytes.Equal(a.Hash, b.Hash) && bytes.Equal(a.PrevHash, b.PrevHash)
}

// An append without events checks a stream's version: the whole request fails when the
// guarded stream moved, and the guard itself writes nothing.
func testGuards(t *testing.T, s eventstore.Store) {
	appendOne(t, s, "env-a", "user-1", eventstore.ExpectNoStream, Event("user.created", map[string]int{"n": 1}))
	guard := func(v int64) eventstore.StreamAppend {
		return eventstore.StreamAppend{Environment: "env-a", Stream: "user-1", ExpectedVersion: v}
	}
	token := func(id string) eventstore.StreamAppend {
		return eventstore.StreamAppend{Environment: "env-a", Stream: id, ExpectedVersion: eventstore.ExpectNoStream,
			Events: []eventstore.NewEvent{Event("token.issued", map[string]int{"n": 1})}}
	}
	out, err := s.Append(t.Context(), token("token-1"), guard(1))
	if err != nil || len(out) != 1 || out[0].Stream != "token-1" {
		t.Fatalf("append under a holding guard: %v %+v", err, out)
	}
	appendOne(t, s, "env-a", "user-1", 1, Event("user.disabled", map[string]int{"n": 2}))
	if _, err := s.Append(t.Context(), token("token-2"), guard(1)); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("append under a moved guard: %v, want a conflict", err)
	}
	if evs, err := s.ReadStream(t.Context(), "token-2"); err != nil || len(evs) != 0 {
		t.Fatalf("the refused append wrote %d events (%v)", len(evs), err)
	}
	if evs, err := s.ReadStream(t.Context(), "user-1"); err != nil || len(evs) != 2 {
		t.Fatalf("the guarded stream has %d events (%v), want 2", len(evs), err)
	}
	if _, err := s.Append(t.Context(), eventstore.StreamAppend{Environment: "env-a", Stream: "x", ExpectedVersion: eventstore.ExpectAny}); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("an append of nothing at any version: %v, want invalid", err)
	}
}
