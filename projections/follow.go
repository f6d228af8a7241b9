package projections

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/internal/eventsig"
)

// follow delivers new events from JetStream into feed until ctx ends. It starts at new
// messages: everything older is read from the store, and anything NATS misses (while it is
// down, or between consumers) shows up as a jump in positions, which the store fills.
func (r *Runtime) follow(ctx context.Context, feed chan<- domain.Envelope) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		cons, err := r.opts.JetStream.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{domain.SubjectWildcard},
			DeliverPolicy:  jetstream.DeliverNewPolicy,
		})
		var it jetstream.MessagesContext
		if err == nil {
			it, err = cons.Messages()
		}
		if err != nil {
			r.log.Debug("cannot follow JetStream yet", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			r.Nudge()
			continue
		}
		backoff = 100 * time.Millisecond
		stop := context.AfterFunc(ctx, it.Stop)
		r.follows.Store(true)
		r.consume(ctx, it, feed)
		r.follows.Store(false)
		stop()
		it.Stop()
	}
}

func (r *Runtime) consume(ctx context.Context, it jetstream.MessagesContext, feed chan<- domain.Envelope) {
	for {
		msg, err := it.Next()
		if err != nil {
			return
		}
		env, ok := r.verify(msg)
		if !ok {
			// Not the relay's (someone published on our subjects, or altered a message):
			// the store is the truth, so read it now.
			r.Nudge()
			continue
		}
		select {
		case feed <- env:
		case <-ctx.Done():
			return
		}
	}
}

// verify decodes a message and checks the relay's signature and the event's hash. A refusal
// is logged with the position (when readable), subject and reason, never the content.
func (r *Runtime) verify(msg jetstream.Msg) (domain.Envelope, bool) {
	if r.opts.Keys == nil {
		return domain.Envelope{}, false
	}
	env, err := r.opts.Keys.VerifyMessage(msg.Subject(), msg.Headers().Get(eventsig.Header), msg.Data())
	if err != nil {
		var pos int64
		if md, merr := msg.Metadata(); merr == nil {
			pos = int64(md.Sequence.Stream)
		}
		r.log.Warn("refusing a message from the event stream; reading the store instead",
			"stream_seq", pos, "subject", msg.Subject(), "reason", err)
		return domain.Envelope{}, false
	}
	return env, true
}
