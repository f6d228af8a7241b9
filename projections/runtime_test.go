package projections_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
)

var system = domain.Actor{Kind: domain.ActorSystem, ID: "test"}

func createEnvs(t *testing.T, loop *eventstore.Loop, n int, prefix string) int64 {
	t.Helper()
	var last int64
	for i := 0; i < n; i++ {
		res, err := loop.Execute(t.Context(), environment.Create{Account: "acme", Slug: fmt.Sprintf("%s-%d", prefix, i)}, system)
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	return last
}

func start(t *testing.T, opts projections.Options) (*projections.Runtime, chan error) {
	t.Helper()
	rt := projections.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return rt, done
}

func TestRuntimeFollowsTheStore(t *testing.T) {
	store := eventstore.NewMemory()
	reg := eventtypes.Registry()
	loop := eventstore.NewLoop(store, reg, time.Now)
	createEnvs(t, loop, 3, "early")
	cat := catalog.New()
	rt, _ := start(t, projections.Options{Projection: cat, Source: store, Registry: reg, PollInterval: time.Hour})

	pos := createEnvs(t, loop, 2, "late")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := rt.WaitFor(ctx, pos); err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Environment("late-1"); !ok {
		t.Fatal("late-1 not projected after WaitFor")
	}
	if got := len(cat.Environments("acme")); got != 5 {
		t.Errorf("%d environments, want 5", got)
	}
	// Ready is signalled once the catch-up that applied pos has returned: wait for it.
	for deadline := time.Now().Add(5 * time.Second); !rt.Status().Ready && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if st := rt.Status(); !st.Ready || st.Position != pos {
		t.Errorf("status %+v", st)
	}
}

func TestRuntimeStopsAtAnUnreadableEvent(t *testing.T) {
	store := eventstore.NewMemory()
	reg := eventtypes.Registry()
	createEnvs(t, eventstore.NewLoop(store, reg, time.Now), 1, "ok")
	bad, err := store.Append(t.Context(), eventstore.StreamAppend{Environment: "ok-0", Stream: "mystery-1",
		Events: []eventstore.NewEvent{{Type: "mystery.happened", SchemaVersion: 1, Data: []byte(`{}`), OccurredAt: time.Now()}}})
	if err != nil {
		t.Fatal(err)
	}
	rt, done := start(t, projections.Options{Projection: catalog.New(), Source: store, Registry: reg})
	var stopped *projections.StoppedError
	select {
	case err := <-done:
		if !errors.As(err, &stopped) || stopped.Position != bad[0].Position || !errors.Is(err, domain.ErrUnknownEvent) {
			t.Fatalf("Run returned %v, want a stop at position %d", err, bad[0].Position)
		}
		done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("projection did not stop")
	}
	if st := rt.Status(); st.Ready || st.Error == "" || st.Position != bad[0].Position-1 {
		t.Errorf("status %+v", st)
	}
	if err := rt.WaitFor(t.Context(), bad[0].Position); !errors.As(err, &stopped) {
		t.Errorf("WaitFor past the bad event: %v", err)
	}
}

func TestRuntimeCheckpoints(t *testing.T) {
	store := eventstore.NewMemory()
	reg := eventtypes.Registry()
	loop := eventstore.NewLoop(store, reg, time.Now)
	pos := createEnvs(t, loop, 4, "env")
	cps := projections.DirCheckpoints{Dir: t.TempDir()}

	first := projections.New(projections.Options{Projection: catalog.New(), Source: store, Registry: reg, Checkpoints: cps})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- first.Run(ctx) }()
	if err := first.WaitFor(t.Context(), pos); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cp, ok, err := cps.Load(projections.CheckpointName(catalog.New()))
	if err != nil || !ok || cp.Position != pos {
		t.Fatalf("checkpoint after shutdown: %+v %v %v", cp, ok, err)
	}

	// A restart restores the checkpoint, then catches up on what came after.
	more := createEnvs(t, loop, 1, "after")
	cat := catalog.New()
	rt, _ := start(t, projections.Options{Projection: cat, Source: store, Registry: reg, Checkpoints: cps})
	if err := rt.WaitFor(t.Context(), more); err != nil {
		t.Fatal(err)
	}
	if len(cat.Environments("")) != 5 {
		t.Errorf("after restore: %d environments", len(cat.Environments("")))
	}

	// A checkpoint of another log (same positions, other hashes) is not trusted.
	other := eventstore.NewMemory()
	createEnvs(t, eventstore.NewLoop(other, reg, time.Now), 4, "other")
	cat2 := catalog.New()
	rt2, _ := start(t, projections.Options{Projection: cat2, Source: other, Registry: reg, Checkpoints: cps})
	if err := rt2.WaitFor(t.Context(), pos); err != nil {
		t.Fatal(err)
	}
	if _, ok := cat2.Environment("env-0"); ok {
		t.Error("a checkpoint from another event log was restored")
	}
	if _, ok := cat2.Environment("other-3"); !ok {
		t.Error("the other log was not projected from the start")
	}
}

func TestRebuildEqualsLive(t *testing.T) {
	store := eventstore.NewMemory()
	reg := eventtypes.Registry()
	loop := eventstore.NewLoop(store, reg, time.Now)
	createEnvs(t, loop, 20, "env")
	fmtOpaque := environment.TokenOpaque
	res, err := loop.Execute(t.Context(), environment.ChangeSettings{Slug: "env-3",
		Patch: environment.SettingsPatch{TokenFormat: &fmtOpaque}}, system)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	rt, _ := start(t, projections.Options{Projection: cat, Source: store, Registry: reg})
	if err := rt.WaitFor(t.Context(), res.Position); err != nil {
		t.Fatal(err)
	}
	live, _ := cat.Snapshot()
	if err := rt.Rebuild(t.Context()); err != nil {
		t.Fatal(err)
	}
	rebuilt, _ := cat.Snapshot()
	if !bytes.Equal(live, rebuilt) {
		t.Errorf("rebuilt catalog differs from the live one:\n%s\n%s", live, rebuilt)
	}
	if e, _ := cat.Environment("env-3"); e.Settings.TokenFormat != environment.TokenOpaque {
		t.Errorf("settings change lost: %+v", e.Settings)
	}
}
