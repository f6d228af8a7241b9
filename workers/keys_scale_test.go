package workers_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/keygen"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/workers"
)

// memFixture is a memory store whose log the keys model applies on demand.
type memFixture struct {
	store   *eventstore.Memory
	reg     *domain.Registry
	loop    *eventstore.Loop
	ring    *keys.Keyring
	applied int64
}

func newMemFixture() *memFixture {
	store, reg := eventstore.NewMemory(), eventtypes.Registry()
	return &memFixture{store: store, reg: reg, loop: eventstore.NewLoop(store, reg, time.Now), ring: keys.New(masterKey)}
}

// catchUp applies what the log holds beyond what the keys model has.
func (f *memFixture) catchUp(t *testing.T) {
	t.Helper()
	envs, err := f.store.ReadAll(t.Context(), f.applied, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		rec, err := f.reg.DecodeEnvelope(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.ring.Apply(rec); err != nil {
			t.Fatal(err)
		}
		f.applied = e.Position
	}
}

// create makes an environment with its primary only, as app.CreateEnvironment does.
func (f *memFixture) create(t *testing.T, slug, alg string) {
	t.Helper()
	primary, err := keygen.GenerateFor(environment.SigningAlgOf(alg), masterKey, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.loop.Execute(t.Context(), signingkey.CreateEnvironment{Create: environment.Create{Account: "acme", Slug: slug, SigningAlg: alg},
		Candidates: primary}, system)
	if err != nil {
		t.Fatal(err)
	}
}

// The key manager's work each round is the environments lacking a key, not all of them:
// it lists every environment only on its first round and then every ScanInterval, and the
// next key of an ES256 environment is an ES256 key.
func TestKeyManagerWorksOnWhatLacksAKey(t *testing.T) {
	f := newMemFixture()
	const complete = 200
	for i := range complete {
		f.create(t, fmt.Sprintf("done-%03d", i), "ES256")
	}
	var listed atomic.Int32
	all := func() []string {
		listed.Add(1)
		out := make([]string, 0, complete+2)
		for i := range complete {
			out = append(out, fmt.Sprintf("done-%03d", i))
		}
		return out
	}
	mgr := workers.NewKeyManager(workers.KeyManagerOptions{Loop: f.loop, Keys: f.ring, MasterKey: masterKey,
		Environments: all, Interval: time.Millisecond, ScanInterval: time.Hour})
	f.catchUp(t)
	if err := mgr.Sync(t.Context()); err != nil { // first round: a scan, and every one incomplete
		t.Fatal(err)
	}
	f.catchUp(t)
	if n := len(f.ring.Incomplete()); n != 0 {
		t.Fatalf("%d environments still incomplete after a round", n)
	}
	f.create(t, "es-new", "ES256")
	f.create(t, "rs-new", "")
	f.catchUp(t)
	if got := f.ring.Incomplete(); len(got) != 2 {
		t.Fatalf("incomplete %v; want the two new environments", got)
	}
	for range 3 {
		if err := mgr.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		f.catchUp(t)
	}
	if n := listed.Load(); n != 1 {
		t.Errorf("every environment listed %d times in four rounds; want once (the first round's scan)", n)
	}
	for slug, alg := range map[string]string{"es-new": "ES256", "rs-new": "RS256", "done-000": "ES256"} {
		hist, err := f.loop.Read(t.Context(), signingkey.Stream(slug))
		if err != nil {
			t.Fatal(err)
		}
		st := signingkey.Fold(hist)
		if !st.Complete() || st.Keys[st.Next].Alg != alg || st.Keys[st.Primary].Alg != alg {
			t.Errorf("%s: keys %+v; want a primary and a next of %s", slug, st, alg)
		}
	}
}
