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

// sentMail counts, by mail id, what a test sender delivered.
type sentMail struct {
	mu   sync.Mutex
	sent map[string]int
}

// record counts a delivery; called with mu held.
func (s *sentMail) record(id string) {
	if s.sent == nil {
		s.sent = map[string]int{}
	}
	s.sent[id]++
}

// count returns how many mails were delivered and how many of them more than once.
func (s *sentMail) count() (n, dup int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.sent {
		n++
		if c > 1 {
			dup++
		}
	}
	return n, dup
}

// mailerRig is an event log on PostgreSQL with environment acme-test, on which mailers start
// and stop.
type mailerRig struct {
	pool  *pgxpool.Pool
	store *eventstore.Postgres
	reg   *domain.Registry
	loop  *eventstore.Loop
	sys   domain.Actor
}

func newMailerRig(t *testing.T) *mailerRig {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), pgtestURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	t.Cleanup(store.Close)
	r := &mailerRig{pool: pool, store: store, reg: eventtypes.Registry(), sys: domain.Actor{Kind: domain.ActorSystem}}
	r.loop = eventstore.NewLoop(store, r.reg, time.Now)
	if _, err := r.loop.Execute(t.Context(), environment.Create{Account: "acme", Slug: "acme-test"}, r.sys); err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs a mailer with a fresh queue (which replays the log) and sender until the
// returned cancel is called; done closes once the mailer has returned.
func (r *mailerRig) start(sender workers.Sender) (cancel context.CancelFunc, done chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	q := mailqueue.New()
	go projections.New(projections.Options{Projection: q, Source: r.store, Registry: r.reg, PollInterval: 50 * time.Millisecond}).Run(ctx) //nolint:errcheck
	m := workers.NewMailer(workers.MailerOptions{Pool: r.pool, Loop: r.loop, Store: r.store, Queue: q, Sender: sender,
		PasscodeKey: []byte("k"), Interval: 20 * time.Millisecond, Describe: func(string) (string, string) { return "Acme", "http://acme" }})
	done = make(chan struct{})
	go func() { m.Run(ctx); close(done) }() //nolint:errcheck
	return cancel, done
}

// flakySender fails its first attempts, then records what it delivers.
type flakySender struct {
	sentMail
	failures int
}

func (f *flakySender) Send(_ context.Context, m workers.Mail) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return errors.New("smtp: 421 try again later")
	}
	f.record(m.ID)
	return nil
}

// Failed sends are retried; mailers that stop and start again (each with a fresh queue that
// replays the log) never send a mail twice.
func TestMailerRetriesAndNeverSendsTwice(t *testing.T) {
	r := newMailerRig(t)
	sender := &flakySender{failures: 3}
	start := func() context.CancelFunc { cancel, _ := r.start(sender); return cancel }
	stop := start()
	for i := 0; i < 6; i++ {
		if _, err := r.loop.Execute(t.Context(), registration.Start{Environment: "acme-test", RegistrationID: "reg-00000000000" + string(rune('a'+i)),
			Email: "u" + string(rune('a'+i)) + "@example.com"}, r.sys); err != nil {
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
