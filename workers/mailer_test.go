package workers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/mailqueue"
	"github.com/paylent/paylent/workers"
)

// flakySender fails its first attempts, then records what it delivers.
type flakySender struct {
	mu       sync.Mutex
	failures int
	sent     map[string]int
}

func (f *flakySender) Send(_ context.Context, m workers.Mail) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return errors.New("smtp: 421 try again later")
	}
	f.sent[m.ID]++
	return nil
}

func (f *flakySender) count() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, dup := 0, 0
	for _, c := range f.sent {
		n++
		if c > 1 {
			dup++
		}
	}
	return n, dup
}

// Failed sends are retried; mailers that stop and start again (each with a fresh queue that
// replays the log) never send a mail twice.
func TestMailerRetriesAndNeverSendsTwice(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), pgtestURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	defer store.Close()
	reg := eventtypes.Registry()
	loop := eventstore.NewLoop(store, reg, time.Now)
	sys := domain.Actor{Kind: domain.ActorSystem}
	if _, err := loop.Execute(t.Context(), environment.Create{Account: "acme", Slug: "acme-test"}, sys); err != nil {
		t.Fatal(err)
	}
	sender := &flakySender{failures: 3, sent: map[string]int{}}
	start := func() context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		q := mailqueue.New()
		go projections.New(projections.Options{Projection: q, Source: store, Registry: reg, PollInterval: 50 * time.Millisecond}).Run(ctx) //nolint:errcheck
		m := workers.NewMailer(workers.MailerOptions{Pool: pool, Loop: loop, Store: store, Queue: q, Sender: sender,
			PasscodeKey: []byte("k"), Interval: 20 * time.Millisecond, Describe: func(string) (string, string) { return "Acme", "http://acme" }})
		go m.Run(ctx) //nolint:errcheck
		return cancel
	}
	stop := start()
	for i := 0; i < 6; i++ {
		if _, err := loop.Execute(t.Context(), registration.Start{Environment: "acme-test", RegistrationID: "reg-00000000000" + string(rune('a'+i)),
			Email: "u" + string(rune('a'+i)) + "@example.com"}, sys); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			time.Sleep(200 * time.Millisecond)
			stop() // a restart in the middle
			stop = start()
		}
	}
	defer func() { stop() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, dup := sender.count()
		if dup > 0 {
			t.Fatalf("%d mails sent twice", dup)
		}
		if n == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 6 mails sent", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Another mailer, with a queue rebuilt from the whole log, finds nothing to send.
	stop()
	stop = start()
	time.Sleep(500 * time.Millisecond)
	if n, dup := sender.count(); n != 6 || dup != 0 {
		t.Errorf("after a second restart: %d mails, %d twice", n, dup)
	}
}
