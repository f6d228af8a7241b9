package workers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/mail"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections/mailqueue"
)

// mailerLockID is the session advisory lock held by the one mailer that sends.
const mailerLockID = 0x7061796c656e7404

// MailerOptions configure the mailer.
type MailerOptions struct {
	Pool   *pgxpool.Pool
	Loop   *eventstore.Loop
	Store  eventstore.Store
	Queue  *mailqueue.Queue // fed by a projections runtime the caller runs
	Sender Sender
	// PasscodeKey derives registration and recovery passcodes (registration.Passcode,
	// recovery.Passcode).
	PasscodeKey []byte
	// Describe returns an environment's display name and issuer for the mail's text.
	Describe func(env string) (name, issuer string)
	Logger   *slog.Logger
	Interval time.Duration // how often the queue is looked at (default 250ms)
	Now      func() time.Time
}

// Mailer sends the mails that events make due, once: of all instances only the holder of an
// advisory lock sends; before sending it checks the log for a mail.sent of the message, and
// after sending it records one. A crash between the two can repeat a mail (never lose one);
// the Message-ID stays the same so receivers can recognise it.
type Mailer struct {
	opts MailerOptions
	log  *slog.Logger
}

// NewMailer returns a mailer; start it with Run.
func NewMailer(opts MailerOptions) *Mailer {
	if opts.Interval <= 0 {
		opts.Interval = 250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Mailer{opts: opts, log: opts.Logger.With("worker", "mailer")}
}

// Run sends until ctx ends.
func (m *Mailer) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		led, err := m.campaign(ctx)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("mailer interrupted; retrying", "err", err)
		}
		wait := time.Second
		if led && err == nil {
			wait = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return nil
}

func (m *Mailer) campaign(ctx context.Context) (bool, error) {
	conn, err := pgx.ConnectConfig(ctx, m.opts.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(mailerLockID)).Scan(&got); err != nil || !got {
		return false, err
	}
	tick := time.NewTicker(m.opts.Interval)
	defer tick.Stop()
	for {
		for _, msg := range m.opts.Queue.Due(m.opts.Now()) {
			if err := m.deliver(ctx, msg); err != nil {
				m.log.Warn("mail not sent; will retry", "message", msg.ID, "err", err)
				break // keep order; try again at the next tick
			}
		}
		select {
		case <-ctx.Done():
			return true, nil
		case <-tick.C:
		}
		if err := conn.Ping(ctx); err != nil {
			return true, err // lost the connection, and with it the lock
		}
	}
}

// deliver sends one message unless the log says it was sent, then records it.
func (m *Mailer) deliver(ctx context.Context, msg mailqueue.Message) error {
	ref := mail.Stream(msg.Environment, msg.ID)
	sent, err := m.opts.Store.ReadStream(ctx, ref.Stream)
	if err != nil {
		return err
	}
	if len(sent) == 0 {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := m.opts.Sender.Send(sctx, m.compose(msg))
		cancel()
		if err != nil {
			return err
		}
	}
	// The record outlives a shutdown that began while the mail was on its way: a mail handed
	// to the server and not recorded is sent again by the next mailer.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err = m.opts.Loop.Execute(rctx, mail.RecordSent{Environment: msg.Environment,
		Mail: mail.Sent{MessageID: msg.ID, Kind: msg.Kind, To: msg.To}}, domain.Actor{Kind: domain.ActorSystem, ID: "mailer"})
	if err == nil {
		m.log.Info("mail sent", "environment", msg.Environment, "kind", msg.Kind, "message", msg.ID)
	}
	return err
}

// compose writes a message's text. The passcode exists only here and in the verifier.
func (m *Mailer) compose(msg mailqueue.Message) Mail {
	name, issuer := m.opts.Describe(msg.Environment)
	if msg.Kind == mailqueue.KindRecovery {
		code := recovery.Passcode(m.opts.PasscodeKey, msg.Environment, msg.RecoveryID)
		return Mail{ID: msg.ID, Environment: msg.Environment, To: msg.To, Subject: "Your password reset code for " + name, Text: fmt.Sprintf(
			"Someone, hopefully you, asked to reset the password of your account at %s.\n\nYour code is %s\n\n"+
				"It works for 10 minutes. Setting a new password signs you out everywhere. If it was not you, you can ignore "+
				"this mail: your password stays as it is.\n", name, code)}
	}
	if msg.Kind == mailqueue.KindExisting {
		return Mail{ID: msg.ID, Environment: msg.Environment, To: msg.To, Subject: "Sign-up attempt at " + name, Text: fmt.Sprintf(
			"Someone, hopefully you, asked to create an account at %s with this address, but you already have one.\n\n"+
				"Sign in at %s/login instead. If it was not you, you can ignore this mail.\n", name, issuer)}
	}
	code := registration.Passcode(m.opts.PasscodeKey, msg.Environment, msg.RegistrationID)
	return Mail{ID: msg.ID, Environment: msg.Environment, To: msg.To, Subject: "Your sign-up code for " + name, Text: fmt.Sprintf(
		"Your code is %s\n\nIt works for 10 minutes. If you did not ask to create an account at %s, you can ignore this mail.\n",
		code, name)}
}
