package projectiontest

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"sync"
	"testing"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/projections"
)

// Model is a read model under test.
type Model struct {
	// New returns an empty instance.
	New func() projections.Projection
	// Answers gives everything the model answers about one environment, in a comparable
	// form (it is compared with reflect.DeepEqual after a JSON round trip).
	Answers func(p projections.Projection, env string) any
}

// SystemEnvironment is the pseudo-environment of account events: every environment's
// isolated log keeps it.
const SystemEnvironment = domain.SystemEnvironment

// Run checks a read model against log (use Log), whose environments are envs.
func Run(t *testing.T, m Model, log []domain.Record, envs []string) {
	t.Run("SnapshotRoundTrip", func(t *testing.T) { snapshotRoundTrip(t, m, log, envs) })
	t.Run("RebuildEqualsLive", func(t *testing.T) { rebuildEqualsLive(t, m, log) })
	t.Run("EnvironmentsAreIsolated", func(t *testing.T) { isolated(t, m, log, envs) })
	t.Run("CheckpointFileRoundTrip", func(t *testing.T) { checkpointFile(t, m, log, envs) })
}

// A checkpoint written through the file store (streamed for a projections.Streamer, entry
// by entry while queries run) restores to the same snapshot and answers.
func checkpointFile(t *testing.T, m Model, log []domain.Record, envs []string) {
	live := apply(t, m.New(), log)
	cps := projections.DirCheckpoints{Dir: t.TempDir()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // queries beside the write (go test -race checks they may)
		for {
			select {
			case <-stop:
				return
			default:
				for _, env := range envs {
					m.Answers(live, env)
				}
			}
		}
	})
	err := cps.Write(projections.CheckpointName(live), 1, []byte{1}, func(w io.Writer) error { return projections.WriteState(live, w) })
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	f, ok, err := cps.Open(projections.CheckpointName(live))
	if err != nil || !ok {
		t.Fatalf("open the checkpoint: %v %v", ok, err)
	}
	defer f.State.Close()
	restored := m.New()
	if err := projections.RestoreState(restored, f.State); err != nil {
		t.Fatal(err)
	}
	if a, b := snapshot(t, live), snapshot(t, restored); !bytes.Equal(a, b) {
		t.Errorf("restored from the file differs:\n%s\n%s", a, b)
	}
	for _, env := range envs {
		if a, b := answers(t, m, live, env), answers(t, m, restored, env); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: answers restored from the file differ:\n%v\n%v", env, a, b)
		}
	}
}

func apply(t *testing.T, p projections.Projection, log []domain.Record) projections.Projection {
	t.Helper()
	for _, rec := range log {
		if err := p.Apply(rec); err != nil {
			t.Fatalf("%s applies %s at %d: %v", p.Name(), rec.Type, rec.Position, err)
		}
	}
	return p
}

func snapshot(t *testing.T, p projections.Projection) []byte {
	t.Helper()
	b, err := p.Snapshot()
	if err != nil {
		t.Fatalf("%s snapshot: %v", p.Name(), err)
	}
	return b
}

// answers is m.Answers in a canonical form: a JSON round trip, so that an empty and a nil
// collection, or unexported bookkeeping, do not make two equal answers differ.
func answers(t *testing.T, m Model, p projections.Projection, env string) any {
	t.Helper()
	b, err := json.Marshal(m.Answers(p, env))
	if err != nil {
		t.Fatalf("answers of %s: %v", env, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A snapshot restored into a fresh instance gives the same snapshot and the same answers;
// snapshots are deterministic.
func snapshotRoundTrip(t *testing.T, m Model, log []domain.Record, envs []string) {
	live := apply(t, m.New(), log)
	snap := snapshot(t, live)
	if again := snapshot(t, live); !bytes.Equal(snap, again) {
		t.Fatal("two snapshots of one state differ")
	}
	restored := m.New()
	if err := restored.Restore(snap); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := snapshot(t, restored); !bytes.Equal(snap, got) {
		t.Errorf("snapshot after restore differs:\n%s\n%s", snap, got)
	}
	for _, env := range envs {
		if a, b := answers(t, m, live, env), answers(t, m, restored, env); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: restored answers differ:\n%v\n%v", env, a, b)
		}
	}
	if err := m.New().Restore([]byte("{not json")); err == nil {
		t.Error("a corrupt snapshot was restored")
	}
}

// A model that restarts from its checkpoint every few events ends where one replay does.
func rebuildEqualsLive(t *testing.T, m Model, log []domain.Record) {
	rebuilt := snapshot(t, apply(t, m.New(), log))
	for _, every := range []int{1, 7} {
		p := m.New()
		for i, rec := range log {
			if err := p.Apply(rec); err != nil {
				t.Fatalf("apply %s: %v", rec.Type, err)
			}
			if i%every == 0 {
				next := m.New()
				if err := next.Restore(snapshot(t, p)); err != nil {
					t.Fatalf("restore at %d: %v", rec.Position, err)
				}
				p = next
			}
		}
		if live := snapshot(t, p); !bytes.Equal(live, rebuilt) {
			t.Errorf("restarting every %d events differs from one replay:\n%s\n%s", every, live, rebuilt)
		}
	}
}

// Another environment's events change nothing an environment answers.
func isolated(t *testing.T, m Model, log []domain.Record, envs []string) {
	all := apply(t, m.New(), log)
	for _, env := range envs {
		var own []domain.Record
		for _, rec := range log {
			if rec.Environment == env || rec.Environment == SystemEnvironment {
				own = append(own, rec)
			}
		}
		alone := apply(t, m.New(), own)
		if a, b := answers(t, m, all, env), answers(t, m, alone, env); !reflect.DeepEqual(a, b) {
			t.Errorf("%s answers differently beside other environments:\n%v\n%v", env, a, b)
		}
		if reflect.DeepEqual(answers(t, m, alone, env), answers(t, m, m.New(), env)) {
			t.Errorf("%s: the model answers nothing about the log (Answers too narrow?)", env)
		}
	}
}
