package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/workers"
)

// stoppingSender delivers, then stops its mailer (a shutdown that begins while a mail is on
// its way), once.
type stoppingSender struct {
	sentMail
	stop context.CancelFunc
}

func (s *stoppingSender) Send(_ context.Context, m workers.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record(m.ID)
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
	return nil
}

// A mail handed to the server just as the mailer stops is still recorded as sent: the next
// mailer does not send it again.
func TestMailerRecordsWhatItSentAsItStops(t *testing.T) {
	r := newMailerRig(t)
	if _, err := r.loop.Execute(t.Context(), registration.Start{Environment: "acme-test", RegistrationID: "reg-000000000001",
		Email: "ada@example.com"}, r.sys); err != nil {
		t.Fatal(err)
	}
	sender := &stoppingSender{}
	sender.mu.Lock()
	first, done := r.start(sender)
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
	second, done := r.start(sender)
	defer func() { second(); <-done }()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if _, dup := sender.count(); dup != 0 {
			t.Fatal("the mail was sent again after a stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
