package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
)

// With full NATS rights (a simulated compromise), made-up events are published at the next
// position: unsigned, signed by a stranger, a genuine message replayed with altered data,
// and one signed with the right key whose chain link does not follow (another deployment
// sharing the master key). None is applied; the real event at that position is, and the
// read model ends equal to a rebuild from PostgreSQL. Only JetStream and the store reads
// that refusals trigger can bring events (polling and nudges are off).
func TestRuntimeAppliesOnlyVerifiedMessages(t *testing.T) {
	ns := natstest.Start(t)
	rig := newLiveRig(t, ns.ClientURL())
	cat := catalog.New()
	rt, _ := start(t, projections.Options{Projection: cat, Source: rig.store, Registry: eventtypes.Registry(),
		JetStream: rig.js, Keys: relayKeys, PollInterval: time.Hour, NudgeAfter: time.Hour})
	waitReady(t, rt)
	last := createEnvs(t, rig.loop, 3, "real")
	waitFor(t, rt, last)

	stream, err := rig.js.Stream(t.Context(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(t.Context())
	genuine, err := stream.GetMsg(t.Context(), info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	var real domain.Envelope
	if err := json.Unmarshal(genuine.Data, &real); err != nil {
		t.Fatal(err)
	}
	publish := func(env domain.Envelope, sig string) {
		t.Helper()
		data, _ := json.Marshal(env)
		msg := &nats.Msg{Subject: env.Subject(), Data: data, Header: nats.Header{}}
		if sig != "" {
			msg.Header.Set(eventsig.Header, sig)
		}
		if err := rig.nc.PublishMsg(msg); err != nil {
			t.Fatal(err)
		}
	}
	madeUp := func(slug string, prev []byte) domain.Envelope {
		env := real
		env.ID, env.Position, env.PrevHash = "forged-"+slug, last+1, prev
		env.Data = bytes.Replace(real.Data, []byte("real-2"), []byte(slug), 1)
		env.Hash = eventstore.Hash(env.PrevHash, env)
		return env
	}
	stranger := eventsig.Derive(bytes.Repeat([]byte{9}, 32), eventsig.CurrentVersion)
	unsigned := madeUp("forged-unsigned", real.Hash)
	publish(unsigned, "")
	byStranger := madeUp("forged-stranger", real.Hash)
	publish(byStranger, stranger.Sign(byStranger.Hash))
	altered := real
	altered.Position, altered.Data = last+1, bytes.Replace(real.Data, []byte("real-2"), []byte("forged-altered"), 1)
	publish(altered, genuine.Header.Get(eventsig.Header))
	otherChain := madeUp("forged-otherchain", bytes.Repeat([]byte{0xAB}, 32))
	publish(otherChain, relaySigner.Sign(otherChain.Hash))

	// The real event at the forged position, and one more: both arrive and apply.
	after := createEnvs(t, rig.loop, 2, "after")
	if after != last+2 {
		t.Fatalf("real events at %d..%d, want %d..%d", after-1, after, last+1, last+2)
	}
	waitFor(t, rt, after)
	for _, slug := range []string{"forged-unsigned", "forged-stranger", "forged-altered", "forged-otherchain"} {
		if _, ok := cat.Environment(slug); ok {
			t.Errorf("the catalog applied %s", slug)
		}
	}
	for _, slug := range []string{"after-0", "after-1"} {
		if _, ok := cat.Environment(slug); !ok {
			t.Errorf("%s missing", slug)
		}
	}
	assertEqualsRebuild(t, rig.store, cat)
	if st := rt.Status(); !st.Ready || st.Error != "" {
		t.Errorf("status %+v", st)
	}
}

func waitFor(t *testing.T, rt *projections.Runtime, pos int64) {
	t.Helper()
	ctx, cancel := contextTimeout(t, 10*time.Second)
	defer cancel()
	if err := rt.WaitFor(ctx, pos); err != nil {
		t.Fatal(err)
	}
}

func assertEqualsRebuild(t *testing.T, src projections.Source, live projections.Projection) {
	t.Helper()
	fresh := live.New()
	if _, _, err := projections.Replay(t.Context(), src, eventtypes.Registry(), fresh); err != nil {
		t.Fatal(err)
	}
	a, _ := live.Snapshot()
	b, _ := fresh.Snapshot()
	if !bytes.Equal(a, b) {
		t.Errorf("live projection differs from a rebuild:\nlive    %s\nrebuilt %s", a, b)
	}
}

func contextTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
