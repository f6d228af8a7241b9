package mailqueue_test

import (
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/mail"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/projections/mailqueue"
)

// A recovery for an address with a user makes a mail due; one for an unknown address makes
// none (the requester's answer is the same); mail.sent ends it.
func TestRecoveryMail(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	q := mailqueue.New()
	apply := func(pos int64, e domain.Event) {
		t.Helper()
		if err := q.Apply(domain.Record{Envelope: domain.Envelope{Environment: "e", Position: pos, OccurredAt: now}, Event: e}); err != nil {
			t.Fatal(err)
		}
	}
	apply(1, recovery.Started{RecoveryID: "known", Email: "ada@example.com", Existing: true, UserID: "u1", ExpiresAt: now.Add(time.Minute)})
	apply(2, recovery.Started{RecoveryID: "unknown", Email: "nobody@example.com", ExpiresAt: now.Add(time.Minute)})
	due := q.Due(now)
	if len(due) != 1 || due[0].ID != "known" || due[0].Kind != mailqueue.KindRecovery || due[0].RecoveryID != "known" || due[0].To != "ada@example.com" {
		t.Fatalf("due %+v", due)
	}
	apply(3, mail.Sent{MessageID: "known", Kind: mailqueue.KindRecovery, To: "ada@example.com"})
	if due := q.Due(now); len(due) != 0 {
		t.Errorf("due after sending %+v", due)
	}
}
