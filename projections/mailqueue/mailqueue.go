// Package mailqueue is the mailer's read model: every mail that is due (a registration
// started, or a recovery for an address that has a user) and not yet recorded as sent, in the order it became due.
package mailqueue

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/mail"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/projections"
)

// Name is the projection's name.
const Name = "mailqueue"

// Kinds of mail.
const (
	KindPasscode = "registration_passcode"
	KindExisting = "registration_existing_account"
	KindRecovery = "recovery_passcode"
)

// Message is a mail to send.
type Message struct {
	Environment    string    `json:"environment"`
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	To             string    `json:"to"`
	RegistrationID string    `json:"registration_id,omitempty"`
	RecoveryID     string    `json:"recovery_id,omitempty"`
	ExpiresAt      time.Time `json:"expires_at"`
	Position       int64     `json:"position"`
}

// Queue is the projection.
type Queue struct {
	mu      sync.RWMutex
	pending map[string]Message // environment/id → message
}

var _ projections.Projection = (*Queue)(nil)

// New returns an empty queue.
func New() *Queue { return &Queue{pending: map[string]Message{}} }

// Name implements projections.Projection.
func (q *Queue) Name() string { return Name }

// New implements projections.Projection.
func (q *Queue) New() projections.Projection { return New() }

// Apply implements projections.Projection.
func (q *Queue) Apply(rec domain.Record) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch e := rec.Event.(type) {
	case registration.Started:
		kind := KindPasscode
		if e.Existing {
			kind = KindExisting
		}
		q.pending[rec.Environment+"/"+e.RegistrationID] = Message{Environment: rec.Environment, ID: e.RegistrationID,
			Kind: kind, To: e.Email, RegistrationID: e.RegistrationID, ExpiresAt: e.ExpiresAt, Position: rec.Position}
	case recovery.Started:
		if e.Existing { // an unknown address gets no mail: nothing is due
			q.pending[rec.Environment+"/"+e.RecoveryID] = Message{Environment: rec.Environment, ID: e.RecoveryID,
				Kind: KindRecovery, To: e.Email, RecoveryID: e.RecoveryID, ExpiresAt: e.ExpiresAt, Position: rec.Position}
		}
	case mail.Sent:
		delete(q.pending, rec.Environment+"/"+e.MessageID)
	}
	if rec.Position%1024 == 0 { // fixed positions, event time: rebuilds stay equal
		for k, m := range q.pending {
			if m.ExpiresAt.Before(rec.OccurredAt) {
				delete(q.pending, k)
			}
		}
	}
	return nil
}

// Due lists the messages to send at now (expired ones are pointless: their code no longer
// works), oldest first.
func (q *Queue) Due(now time.Time) []Message {
	q.mu.RLock()
	out := make([]Message, 0, len(q.pending))
	for _, m := range q.pending {
		if now.Before(m.ExpiresAt) {
			out = append(out, m)
		}
	}
	q.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Position < out[j].Position })
	return out
}

// Snapshot implements projections.Projection.
func (q *Queue) Snapshot() ([]byte, error) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return json.Marshal(q.pending)
}

// Restore implements projections.Projection.
func (q *Queue) Restore(b []byte) error {
	p := map[string]Message{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("restore mail queue: %w", err)
		}
	}
	q.mu.Lock()
	q.pending = p
	q.mu.Unlock()
	return nil
}
