package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestRestartKeepsJetStreamMessages(t *testing.T) {
	s := Start(t)
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "TEST", Subjects: []string{"test.>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "test.one", []byte("kept")); err != nil {
		t.Fatal(err)
	}

	s2 := Restart(t, s)
	if s2.ClientURL() != s.ClientURL() {
		t.Errorf("restarted on %s, want %s", s2.ClientURL(), s.ClientURL())
	}

	// The old connection reconnects to the new server and finds the message.
	// A request sent while the client reconnects may get no answer: each attempt has its
	// own short timeout.
	var stream jetstream.Stream
	for err = context.DeadlineExceeded; err != nil && ctx.Err() == nil; {
		attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
		stream, err = js.Stream(attempt, "TEST")
		cancelAttempt()
		if err != nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	msg, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("message after restart: %v", err)
	}
	if string(msg.Data) != "kept" || msg.Subject != "test.one" {
		t.Errorf("message = %s %q", msg.Subject, msg.Data)
	}
}

func TestStartTwiceGivesTwoServers(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.ClientURL() == b.ClientURL() || a.StoreDir() == b.StoreDir() {
		t.Errorf("servers share %s / %s", a.ClientURL(), a.StoreDir())
	}
}
