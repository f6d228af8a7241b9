package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// relayLockID is the session advisory lock held by the one relay that publishes.
const relayLockID = 0x7061796c656e7403

// PositionHeader carries an event's global position on its NATS message. It is a hint for
// tools: nothing of ours trusts it, the signed envelope carries the position.
const PositionHeader = "Paylent-Position"

// RelayOptions configure the relay.
type RelayOptions struct {
	// Pool reaches the event store's database: the relay takes a dedicated connection from
	// its config for leadership (an advisory lock) and change notifications.
	Pool      *pgxpool.Pool
	Store     eventstore.Store
	JetStream jetstream.JetStream
	// Signer signs every message (header eventsig.Header); required. Derive it from the
	// master key: eventsig.Derive(masterKey, eventsig.CurrentVersion).
	Signer *eventsig.Signer
	// Keys are the keys the relay accepts as its own when it resynchronises with the
	// stream (default: the Signer's; add the previous key during a rotation).
	Keys   *eventsig.KeySet
	Logger *slog.Logger
	// Stream configures the JetStream stream the relay creates or updates.
	Stream StreamSettings
	// BatchSize is how many events one publish round carries (default 1000).
	BatchSize int
	// PollInterval bounds how long the relay sleeps without a notification (default 1s).
	PollInterval time.Duration
	// Observer is told how many events each publish round landed (metrics); nil observes
	// nothing.
	Observer RelayObserver
	// Tracer puts each publish round in a span (nil: none). The round is a trace of its own:
	// events carry no trace context (the envelope is a public contract), so the span names
	// the positions it published, and the request that appended them names its positions.
	Tracer trace.Tracer
}

// RelayObserver watches the relay (internal/metrics implements it).
type RelayObserver interface {
	// EventsPublished reports events acknowledged by the stream.
	EventsPublished(n int)
}

// StreamSettings are the operator's choices for PAYLENT_EVENTS.
type StreamSettings struct {
	// Replicas of the stream in a NATS cluster. 0 (the default) is automatic: the cluster's
	// size up to MaxAutoReplicas (1 on a single server), never fewer than the stream has.
	Replicas int
	MaxAge   time.Duration // 0 keeps every event
}

// Relay publishes every committed event to JetStream once, in position order. Of all
// instances, only the holder of an advisory lock publishes; the others stand by.
//
// Order and exactly-once come from the stream itself: each message is published with the
// stream sequence it must follow (Nats-Expected-Last-Sequence) and the event id as its
// message id (de-duplication). A publish that would leave a hole or repeat an event is
// refused by the server; the relay then re-reads the stream's last message it can verify as
// its own (signature and hash, never a bare header) and resumes after the position that
// message carries. Positions are dense and commit-ordered (see eventstore), so "everything
// after the last published position" is exactly what is left to publish. Whatever else is
// on the stream (someone with publish rights made it up, or replayed one of ours) only
// shifts sequences: it can delay the relay, never make it skip an event.
type Relay struct {
	opts      RelayOptions
	log       *slog.Logger
	published atomic.Int64
	leader    atomic.Bool
}

// NewRelay returns a relay; start it with Run.
func NewRelay(opts RelayOptions) *Relay {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Keys == nil && opts.Signer != nil {
		opts.Keys = eventsig.NewKeySet(opts.Signer.Public())
	}
	return &Relay{opts: opts, log: opts.Logger.With("worker", "relay")}
}

// Published is the last position known to be on the stream (0 before the first sync).
func (r *Relay) Published() int64 { return r.published.Load() }

// Leader reports whether this instance's relay is the one publishing.
func (r *Relay) Leader() bool { return r.leader.Load() }

// RelayLag is how far the relay is behind the event log.
type RelayLag struct {
	Leader bool  // this instance's relay is the one publishing
	Behind int64 // positions committed after the last published one
	// Oldest is the age of the first event not yet published (0 when Behind is 0).
	Oldest time.Duration
}

// Lag reports how far publishing is behind head (the log's head, read by the caller). On
// the leader it counts from what it knows is on the stream; on an instance standing by,
// from the checkpoint the leader writes at least once a second while it publishes (so a
// standby may overstate the lag by up to a second's worth of events).
func (r *Relay) Lag(ctx context.Context, head int64) (RelayLag, error) {
	lag := RelayLag{Leader: r.Leader()}
	var checkpoint int64
	err := r.opts.Pool.QueryRow(ctx, `SELECT position FROM relay_checkpoints WHERE name = 'relay'`).Scan(&checkpoint)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return RelayLag{}, fmt.Errorf("read relay checkpoint: %w", err)
	}
	published := checkpoint
	if lag.Leader {
		published = max(published, r.Published())
	}
	if head <= published {
		return lag, nil
	}
	lag.Behind = head - published
	next, err := r.opts.Store.ReadAll(ctx, published, 1)
	if err != nil {
		return RelayLag{}, fmt.Errorf("read event %d: %w", published+1, err)
	}
	if len(next) > 0 {
		lag.Oldest = max(time.Since(next[0].OccurredAt), 0)
	}
	return lag, nil
}

// EnsureStream creates PAYLENT_EVENTS or brings its configuration up to date (replicas as
// StreamSettings.Replicas says).
func EnsureStream(ctx context.Context, js jetstream.JetStream, s StreamSettings) (jetstream.Stream, error) {
	replicas, err := streamReplicas(ctx, js, s.Replicas)
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", domain.StreamName, err)
	}
	s.Replicas = replicas
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        domain.StreamName,
		Description: "Paylent event log (envelope_version 1); see docs/EVENTS.md",
		Subjects:    []string{domain.SubjectWildcard},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      s.MaxAge,
		Duplicates:  2 * time.Minute,
		Replicas:    s.Replicas,
		DenyDelete:  true,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", domain.StreamName, err)
	}
	return st, nil
}

// Run publishes until ctx ends. Losing the database or NATS is not fatal: it retries.
func (r *Relay) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		led, err := r.campaign(ctx)
		r.leader.Store(false)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			r.log.Warn("relay interrupted; retrying", "err", err, "in", backoff)
		case !led:
			backoff = r.opts.PollInterval // another instance publishes; check again later
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		if err != nil {
			backoff = min(backoff*2, 5*time.Second)
		} else {
			backoff = 100 * time.Millisecond
		}
	}
	return nil
}

// campaign takes the leader lock on a dedicated connection and, when it gets it, publishes
// until something fails. It reports whether it led.
func (r *Relay) campaign(ctx context.Context) (bool, error) {
	cfg := r.opts.Pool.Config().ConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background()) // also releases the lock
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(relayLockID)).Scan(&got); err != nil {
		return false, fmt.Errorf("take relay lock: %w", err)
	}
	if !got {
		return false, nil
	}
	if _, err := conn.Exec(ctx, `LISTEN `+eventstore.NotifyChannel); err != nil {
		return true, fmt.Errorf("listen: %w", err)
	}
	r.leader.Store(true)
	r.log.Info("relay is publishing")
	return true, r.lead(ctx, conn)
}

func (r *Relay) lead(ctx context.Context, conn *pgx.Conn) error {
	if r.opts.Signer == nil {
		return errors.New("relay: no event-signing key")
	}
	stream, err := EnsureStream(ctx, r.opts.JetStream, r.opts.Stream)
	if err != nil {
		return err
	}
	// floor is the highest position this leader has seen the stream acknowledge (landed or
	// a duplicate of what is there): resynchronisation never goes below it, so a replayed
	// old message at the stream's end cannot send the relay round in circles.
	var floor int64
	seq, pos, err := r.syncPoint(ctx, conn, stream, floor)
	if err != nil {
		return err
	}
	// The stream is the checkpoint; the row in PostgreSQL is only the floor for an empty
	// stream, so it is written at most once a second and when the relay goes idle.
	saved, savedAt := pos, time.Now()
	for ctx.Err() == nil {
		batch, err := r.opts.Store.ReadAll(ctx, pos, r.opts.BatchSize)
		if err != nil {
			return fmt.Errorf("read events after %d: %w", pos, err)
		}
		if len(batch) > 0 {
			n, perr := r.tracedPublish(ctx, batch, seq)
			if n > 0 {
				floor = max(floor, batch[n-1].Position)
			}
			if perr != nil {
				// Something is off (a lost publish, another publisher, NATS restarting):
				// the stream is the truth of what was published, so start over from it.
				var dup *duplicateError
				if errors.As(perr, &dup) {
					floor = max(floor, dup.position)
				}
				r.log.Warn("publish refused; resynchronising with the stream", "err", perr)
				if seq, pos, err = r.syncPoint(ctx, conn, stream, floor); err != nil {
					return err
				}
				continue
			}
			seq, pos = seq+uint64(n), batch[n-1].Position
			r.published.Store(pos)
			if r.opts.Observer != nil {
				r.opts.Observer.EventsPublished(n)
			}
			if time.Since(savedAt) >= time.Second {
				if err := saveCheckpoint(ctx, conn, pos); err != nil {
					return err
				}
				saved, savedAt = pos, time.Now()
			}
			continue
		}
		if saved != pos {
			if err := saveCheckpoint(ctx, conn, pos); err != nil {
				return err
			}
			saved, savedAt = pos, time.Now()
		}
		wait, cancel := context.WithTimeout(ctx, r.opts.PollInterval)
		_, err = conn.WaitForNotification(wait)
		cancel()
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("wait for events: %w", err)
		}
	}
	return nil
}

func saveCheckpoint(ctx context.Context, conn *pgx.Conn, pos int64) error {
	_, err := conn.Exec(ctx, `INSERT INTO relay_checkpoints (name, position) VALUES ('relay', $1)
		ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()`, pos)
	if err != nil {
		return fmt.Errorf("save relay checkpoint: %w", err)
	}
	return nil
}

// syncPoint returns the stream's last sequence and the position of the last event on it.
// Only a message the relay can verify as its own (its signature over the event's hash, the
// hash recomputed from the content, the subject the event's) counts; anything else (made
// up, altered, unsigned) is skipped backwards, and its position header is never read. The
// result is never below floor (what this leader saw acknowledged) nor below the relay's
// checkpoint in PostgreSQL, which is also the answer when no message verifies (new NATS,
// retention removed everything, or a flood of foreign messages).
func (r *Relay) syncPoint(ctx context.Context, conn *pgx.Conn, stream jetstream.Stream, floor int64) (uint64, int64, error) {
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("stream info: %w", err)
	}
	seq := info.State.LastSeq
	pos, found := int64(0), false
	for s := seq; info.State.Msgs > 0 && s >= max(info.State.FirstSeq, 1) && seq-s < maxForeignScan; s-- {
		msg, err := stream.GetMsg(ctx, s)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read message %d: %w", s, err)
		}
		env, verr := r.opts.Keys.VerifyMessage(msg.Subject, msg.Header.Get(eventsig.Header), msg.Data)
		if verr == nil {
			pos, found = env.Position, true
			break
		}
		r.log.Warn("skipping a message the relay cannot verify as its own", "stream_seq", s,
			"subject", msg.Subject, "reason", verr)
	}
	var checkpoint int64
	err = conn.QueryRow(ctx, `SELECT position FROM relay_checkpoints WHERE name = 'relay'`).Scan(&checkpoint)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, fmt.Errorf("read relay checkpoint: %w", err)
	}
	if !found {
		r.log.Info("no verifiable relay message on the stream; resuming from the checkpoint", "position", checkpoint)
	}
	pos = max(pos, checkpoint, floor)
	r.published.Store(pos)
	r.log.Info("relay synchronised", "stream_seq", seq, "position", pos)
	return seq, pos, nil
}

// signChunk is how many events one signing goroutine takes at a time.
const signChunk = 64

// signatures are a batch's signatures, made ahead of the publishing loop on every core:
// chunks are taken in order, so the loop waits only when it overtakes the signers.
type signatures struct {
	sigs []string
	done []chan struct{}
}

// signAhead starts signing batch (in the caller, for a batch of one chunk: no goroutine on
// the latency path). The goroutines finish the batch whatever the publisher does.
func signAhead(signer *eventsig.Signer, batch []domain.Envelope) *signatures {
	chunks := (len(batch) + signChunk - 1) / signChunk
	s := &signatures{sigs: make([]string, len(batch)), done: make([]chan struct{}, chunks)}
	for i := range s.done {
		s.done[i] = make(chan struct{})
	}
	sign := func(c int) {
		for j := c * signChunk; j < min(len(batch), (c+1)*signChunk); j++ {
			s.sigs[j] = signer.Sign(batch[j].Hash)
		}
		close(s.done[c])
	}
	if chunks <= 1 {
		for c := range chunks {
			sign(c)
		}
		return s
	}
	var next atomic.Int64
	for range min(runtime.GOMAXPROCS(0), chunks) {
		go func() {
			for c := int(next.Add(1) - 1); c < chunks; c = int(next.Add(1) - 1) {
				sign(c)
			}
		}()
	}
	return s
}

// at waits for the i-th signature.
func (s *signatures) at(i int) string {
	<-s.done[i/signChunk]
	return s.sigs[i]
}

// ackTimeout bounds the wait for one batch's acknowledgements.
const ackTimeout = 10 * time.Second

// maxForeignScan bounds how far back syncPoint looks past foreign messages.
const maxForeignScan = 10_000

// publish sends batch, each message pinned to the sequence it must follow, and waits for
// every acknowledgement. It returns how many leading events are on the stream.
func (r *Relay) publish(ctx context.Context, batch []domain.Envelope, seq uint64) (int, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	var failed error
	sigs := signAhead(r.opts.Signer, batch)
	for i, env := range batch {
		data, err := json.Marshal(env)
		if err != nil {
			failed = fmt.Errorf("encode event %d: %w", env.Position, err)
			break
		}
		msg := &nats.Msg{Subject: env.Subject(), Data: data, Header: nats.Header{}}
		msg.Header.Set(PositionHeader, strconv.FormatInt(env.Position, 10))
		msg.Header.Set(eventsig.Header, sigs.at(i))
		f, err := r.opts.JetStream.PublishMsgAsync(msg, jetstream.WithMsgID(env.ID),
			jetstream.WithExpectLastSequence(seq+uint64(i)))
		if err != nil {
			failed = fmt.Errorf("publish event %d: %w", env.Position, err)
			break
		}
		futures = append(futures, f)
	}
	// Acknowledgements lost in a reconnect never arrive: bound the wait, then resync.
	wait, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				return i, &duplicateError{position: batch[i].Position, sequence: ack.Sequence}
			}
			if ack.Sequence != seq+uint64(i)+1 {
				return i, fmt.Errorf("event %d landed as duplicate=%v at sequence %d, expected %d",
					batch[i].Position, ack.Duplicate, ack.Sequence, seq+uint64(i)+1)
			}
		case err := <-f.Err():
			return i, fmt.Errorf("publish event %d: %w", batch[i].Position, err)
		case <-wait.Done():
			return i, fmt.Errorf("publish event %d: no acknowledgement: %w", batch[i].Position, wait.Err())
		}
	}
	if failed != nil {
		return len(futures), failed
	}
	return len(futures), nil
}

// tracedPublish is publish in a span when the relay has a tracer.
func (r *Relay) tracedPublish(ctx context.Context, batch []domain.Envelope, seq uint64) (int, error) {
	if r.opts.Tracer == nil {
		return r.publish(ctx, batch, seq)
	}
	ctx, span := r.opts.Tracer.Start(ctx, "relay.publish", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.Int("paylent.events", len(batch)),
			attribute.Int64("paylent.position.first", batch[0].Position),
			attribute.Int64("paylent.position.last", batch[len(batch)-1].Position)))
	defer span.End()
	n, err := r.publish(ctx, batch, seq)
	span.SetAttributes(attribute.Int("paylent.published", n))
	if err != nil {
		span.SetStatus(codes.Error, "publish refused; resynchronising")
	}
	return n, err
}

// duplicateError: the stream already holds the event (de-duplicated by its id), so it is
// published; the sequences after it are not what the batch expected.
type duplicateError struct {
	position int64
	sequence uint64
}

func (e *duplicateError) Error() string {
	return fmt.Sprintf("event %d is already on the stream at sequence %d", e.position, e.sequence)
}
