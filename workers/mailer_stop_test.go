package workers_test

import (
	"context"
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

// stoppingSender delivers, then stops its mailer (a shutdown that begins while a mail is on
// its way), once.
type stoppingSender struct {
	mu   sync.Mutex
	sent map[string]int
	stop context.CancelFunc
}

func (s *stoppingSender) Send(_ context.Context, m workers.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent[m.ID]++
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
	return nil
}

func (s *stoppingSender) count() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, dup := 0, 0
	for _, c := range s.sent {
		n++
		if c > 1 {
			dup++
		}
	}
	return n, dup
}

// A mail handed to the server just as the mailer stops is still recorded as sent: the next
// mailer does not send it again.
func TestMailerRecordsWhatItSentAsItStops(t *testing.T) {
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
	if _, err := loop.Execute(t.Context(), registration.Start{Environment: "acme-test", RegistrationID: "reg-000000000001",
		Email: "ada@example.com"}, sys); err != nil {
		t.Fatal(err)
	}
	sender := &stoppingSender{sent: map[string]int{}}
	run := func() (context.CancelFunc, chan struct{}) {
		ctx, cancel := context.WithCancel(context.Background())
		q := mailqueue.New()
		go projections.New(projections.Options{Projection: q, Source: store, Registry: reg, PollInterval: 50 * time.Millisecond}).Run(ctx) //nolint:errcheck
		m := workers.NewMailer(workers.MailerOptions{Pool: pool, Loop: loop, Store: store, Queue: q, Sender: sender,
			PasscodeKey: []byte("k"), Interval: 20 * time.Millisecond, Describe: func(string) (string, string) { return "Acme", "http://acme" }})
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }() //nolint:errcheck
		return cancel, done
	}
	sender.mu.Lock()
	first, done := run()
	sender.stop = first
	sender.mu.Unlock()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the first mailer did not stop")
	}
	if n, _ := sender.count(); n != 1 {
		t.Fatalf("the first mailer sent %d mails, want 1", n)
	}
	// The next mailer, its queue rebuilt from the log, has nothing to send; give it the time
	// of many rounds (the queue applies every 50 ms, the mailer ticks every 20 ms).
	second, done := run()
	defer func() { second(); <-done }()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if _, dup := sender.count(); dup != 0 {
			t.Fatal("the mail was sent again after a stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
