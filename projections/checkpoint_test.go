package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
)

// runOnce runs a catalog runtime over store until it has applied pos, then stops it (it
// checkpoints on its way out) and returns the catalog.
func runOnce(t *testing.T, store eventstore.Store, cps projections.Checkpoints, pos int64) *catalog.Catalog {
	t.Helper()
	cat := catalog.New()
	rt := projections.New(projections.Options{Projection: cat, Source: store, Registry: eventtypes.Registry(), Checkpoints: cps})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- rt.Run(ctx) }()
	if err := rt.WaitFor(t.Context(), pos); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return cat
}

// A checkpoint written as json.Marshal(Checkpoint) with the whole state in memory (every
// version before checkpoints were streamed) restores through the streamed reader.
func TestCheckpointOfTheFormerWriterRestores(t *testing.T) {
	store := eventstore.NewMemory()
	reg := eventtypes.Registry()
	pos := createEnvs(t, eventstore.NewLoop(store, reg, time.Now), 3, "env")
	live := runOnce(t, store, nil, pos)
	state, _ := live.Snapshot()
	at, err := store.ReadAll(t.Context(), pos-1, 1)
	if err != nil {
		t.Fatal(err)
	}
	former, err := json.Marshal(projections.Checkpoint{Position: pos, Hash: at[0].Hash, State: state})
	if err != nil {
		t.Fatal(err)
	}
	// Rename env-0 in the checkpoint only: a restore shows the name, a replay would not.
	former = bytes.ReplaceAll(former, []byte(`"env-0"`), []byte(`"env-x"`))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, catalog.Name+".checkpoint.json"), former, 0o600); err != nil {
		t.Fatal(err)
	}
	cps := projections.DirCheckpoints{Dir: dir}
	more := createEnvs(t, eventstore.NewLoop(store, reg, time.Now), 1, "after")
	restored := runOnce(t, store, cps, more)
	if _, ok := restored.Environment("env-x"); !ok {
		t.Fatal("the former checkpoint was not restored")
	}
	if _, ok := restored.Environment("after-0"); !ok {
		t.Fatal("no catch-up after the restore")
	}
	// The checkpoint written at shutdown is what the former writer would have written.
	state, _ = restored.Snapshot()
	at, _ = store.ReadAll(t.Context(), more-1, 1)
	want, _ := json.Marshal(projections.Checkpoint{Position: more, Hash: at[0].Hash, State: state})
	written, _ := os.ReadFile(filepath.Join(dir, catalog.Name+".checkpoint.json"))
	if !bytes.Equal(written, want) {
		t.Errorf("the streamed writer's file differs from the former one's:\n%s\n%s", want, written)
	}
}

// A checkpoint whose state does not decode (a torn or foreign file) is thrown away: the
// projection rebuilds from the log.
func TestCorruptCheckpointIsRebuilt(t *testing.T) {
	store := eventstore.NewMemory()
	reg := eventtypes.Registry()
	pos := createEnvs(t, eventstore.NewLoop(store, reg, time.Now), 3, "env")
	at, _ := store.ReadAll(t.Context(), pos-1, 1)
	hash, _ := json.Marshal(projections.Checkpoint{Hash: at[0].Hash})
	h := strings.TrimSuffix(strings.TrimPrefix(string(hash), `{"position":0,"hash":`), `,"state":null}`)
	for name, body := range map[string]string{
		"truncated state":   `{"position":` + itoa(pos) + `,"hash":` + h + `,"state":{"accounts":{"acme":{"slug":`,
		"wrong shape":       `{"position":` + itoa(pos) + `,"hash":` + h + `,"state":{"environments":[1,2]}}`,
		"members reordered": `{"state":{},"hash":` + h + `,"position":` + itoa(pos) + `}`,
		"not JSON":          `garbage`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, catalog.Name+".checkpoint.json"), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			cat := runOnce(t, store, projections.DirCheckpoints{Dir: dir}, pos)
			if n := len(cat.Environments("")); n != 3 {
				t.Fatalf("%d environments after a corrupt checkpoint; want the 3 of a rebuild", n)
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
