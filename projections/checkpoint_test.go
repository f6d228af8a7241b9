package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/user"
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
	if err := os.WriteFile(filepath.Join(dir, projections.CheckpointName(catalog.New())+".checkpoint.json"), former, 0o600); err != nil {
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
	written, _ := os.ReadFile(filepath.Join(dir, projections.CheckpointName(catalog.New())+".checkpoint.json"))
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
			if err := os.WriteFile(filepath.Join(dir, projections.CheckpointName(catalog.New())+".checkpoint.json"), []byte(body), 0o600); err != nil {
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

// A catalog checkpoint of format 1 (written before the catalog kept each user's
// sign_ins_ended_at) is not restored: restored, it would read every earlier factor reset as
// never made, and the events that made them are before its position. The catalog is rebuilt
// from the log instead and its checkpoint written under the current format's name; the
// earlier file stays for a rollback, which finds it (attack review).
func TestACheckpointOfAnEarlierFormatIsRebuilt(t *testing.T) {
	store := eventstore.NewMemory()
	reg := eventtypes.Registry()
	createEnvs(t, eventstore.NewLoop(store, reg, time.Now), 1, "env")
	ended := time.Date(2026, 12, 3, 12, 0, 0, 123000, time.UTC)
	a := eventstore.StreamAppend{Environment: "env-0", Stream: user.Stream("env-0", "u1").Stream, ExpectedVersion: eventstore.ExpectAny}
	for _, e := range []domain.Event{user.Created{UserID: "u1", Email: "ada@example.com", PasswordHash: "sealed:v1:x"},
		user.SignInsEnded{Reason: "factors_reset", At: ended}} {
		typ, ver, data, err := reg.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		a.Events = append(a.Events, eventstore.NewEvent{Type: typ, SchemaVersion: ver, Data: data, OccurredAt: time.Now(),
			Actor: domain.Actor{Kind: domain.ActorSystem, ID: "test"}})
	}
	envs, err := store.Append(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	pos := envs[len(envs)-1].Position
	live := runOnce(t, store, nil, pos)
	state, _ := live.Snapshot()
	earlier := regexp.MustCompile(`,"sign_ins_ended_at":"[^"]*"`).ReplaceAll(state, nil)
	if bytes.Equal(earlier, state) {
		t.Fatal("the state keeps no sign_ins_ended_at: nothing to test")
	}
	at, _ := store.ReadAll(t.Context(), pos-1, 1)
	file, _ := json.Marshal(projections.Checkpoint{Position: pos, Hash: at[0].Hash, State: earlier})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, catalog.Name+".checkpoint.json"), file, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := runOnce(t, store, projections.DirCheckpoints{Dir: dir}, pos)
	if u, _ := restored.User("env-0", "u1"); !u.SignInsEndedAt.Equal(ended) {
		t.Errorf("after an earlier format's checkpoint, sign-ins ended at %v; the log says %v", u.SignInsEndedAt, ended)
	}
	if _, err := os.Stat(filepath.Join(dir, "catalog.2.checkpoint.json")); err != nil {
		t.Errorf("no checkpoint of the current format: %v", err)
	}
	if kept, _ := os.ReadFile(filepath.Join(dir, catalog.Name+".checkpoint.json")); !bytes.Equal(kept, file) {
		t.Error("the earlier format's checkpoint was changed")
	}
}
