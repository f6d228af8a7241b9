package projections

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
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
		var env domain.Envelope
		if err := json.Unmarshal(msg.Data(), &env); err != nil || env.Position <= 0 {
			// Not one of ours (someone published on our subjects); the store is the truth.
			r.log.Warn("ignoring an unreadable message on the event stream", "subject", msg.Subject())
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
