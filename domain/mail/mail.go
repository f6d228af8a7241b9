// Package mail records what the mailer sent, so that a restarted mailer never sends a mail
// twice: a mail is due for every registration.started, and done once mail.sent names it.
package mail

import (
	"time"

	"github.com/paylent/paylent/domain"
)

// Stream is the record of one message.
func Stream(env, messageID string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "mail/" + env + "/" + messageID}
}

// Sent records a delivered message (to the SMTP server, or to the dev outbox).
type Sent struct {
	MessageID string `json:"message_id"`
	Kind      string `json:"kind"`
	To        string `json:"to"`
}

// EventType implements domain.Event.
func (Sent) EventType() string { return "mail.sent" }

// RecordSent records a delivery; a second record of the same message appends nothing.
type RecordSent struct {
	Environment string
	Mail        Sent
}

// Streams implements domain.Command.
func (c RecordSent) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.Mail.MessageID)}
}

// Decide implements domain.Command.
func (c RecordSent) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	if len(h[0]) > 0 {
		return [][]domain.Event{nil}, nil
	}
	return [][]domain.Event{{c.Mail}}, nil
}
