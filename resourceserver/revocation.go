package resourceserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The event contract (docs/EVENTS.md of Paylent): JetStream stream PAYLENT_EVENTS, subjects
// paylent.events.<environment>.<aggregate>.<event>, JSON envelopes with the event in data.
const (
	eventStream       = "PAYLENT_EVENTS"
	subjectPrefix     = "paylent.events."
	eventTokenRevoked = "token.revoked"
	eventGrantRevoked = "grant.revoked"
	eventClientDelete = "client.deleted"
)

// clientKey is the deny-list entry of a deleted client: every token issued to it is
// refused. It cannot collide with a jti (no jti holds a NUL byte).
func clientKey(clientID string) string { return "\x00client/" + clientID }

const (
	// catchUpTimeout bounds how long WatchRevocations waits to have read the lookback window.
	catchUpTimeout = 30 * time.Second
	// pruneEvery is how often expired jtis leave the deny-list.
	pruneEvery = time.Minute
)

// revokedToken is token.revoked's data, and each entry of grant.revoked's tokens.
type revokedToken struct {
	JTI       string    `json:"jti"`
	ExpiresAt time.Time `json:"expires_at"`
}

type revokedGrant struct {
	Tokens []revokedToken `json:"tokens"`
}

// denyList holds revoked jtis until their token could no longer pass anyway (exp + leeway).
type denyList struct {
	size  atomic.Int64 // lets Verify skip the lock while nothing is revoked
	mu    sync.RWMutex
	until map[string]time.Time
}

func newDenyList() *denyList { return &denyList{until: map[string]time.Time{}} }

func (d *denyList) has(jti string) bool {
	if d.size.Load() == 0 {
		return false
	}
	d.mu.RLock()
	_, ok := d.until[jti]
	d.mu.RUnlock()
	return ok
}

func (d *denyList) add(jti string, until, now time.Time) {
	if jti == "" || !until.After(now) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if until.After(d.until[jti]) {
		d.until[jti] = until
	}
	d.size.Store(int64(len(d.until)))
}

func (d *denyList) prune(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for jti, until := range d.until {
		if !until.After(now) {
			delete(d.until, jti)
		}
	}
	d.size.Store(int64(len(d.until)))
}

// RevocationWatch is a running subscription to an environment's revocations.
type RevocationWatch struct {
	cc      jetstream.ConsumeContext
	cancel  context.CancelFunc
	done    chan struct{}
	ignored *atomic.Int64
}

// Ignored is how many messages the watch has refused because they did not verify: no
// signature, a signature by a key the issuer does not publish, an altered event, or a
// message on a subject that is not its event's. Anyone able to publish on NATS can make
// this grow; nothing they publish revokes or un-revokes a token.
func (w *RevocationWatch) Ignored() int64 { return w.ignored.Load() }

// Stop ends the watch. Tokens revoked afterwards are no longer refused before their expiry
// (those already in the deny-list still are).
func (w *RevocationWatch) Stop() { w.cancel() }

// Done is closed when the watch has ended: Stop, the context of WatchRevocations ending, or
// the NATS connection being closed for good.
func (w *RevocationWatch) Done() <-chan struct{} { return w.done }

// WatchRevocations makes the verifier refuse revoked JWTs within milliseconds of their
// revocation, rather than accepting them until they expire. It follows the environment's
// token.revoked and grant.revoked events on JetStream (stream PAYLENT_EVENTS) and keeps each
// revoked jti until the token expires; and client.deleted, after which every token of that
// client is refused (for RevocationLookback).
//
// Only what Paylent's relay signed is applied. Each message's Ed25519 signature
// (Paylent-Signature header) is checked against the keys the issuer publishes (discovery's
// paylent_event_signing_jwks_uri, fetched at start and again when a message names an
// unknown key, at most once per [Config.MinRefreshInterval]), and the event's hash is
// recomputed from its content; anything else is ignored, logged and counted
// ([RevocationWatch.Ignored]), so a compromised NATS cannot revoke or forge.
//
// It first reads the revocations of the last [Config.RevocationLookback] (set it to the
// environment's longest access-token lifetime), and returns once it has caught up, so tokens
// revoked before the start are refused from the first request. It then follows new events in
// the background until ctx ends or Stop is called. The consumer is an ordered consumer: after
// a disconnection it resumes where it stopped, so no revocation is missed, but while NATS is
// unreachable revocations are not learnt (a revoked token passes until the connection
// returns). Give nc unlimited reconnects (nats.MaxReconnects(-1)) for a watch that should
// outlive outages.
//
// Without a watch, a JWT stays valid until its exp even after revocation: that is the
// trade-off of verifying locally (introspection asks the issuer instead, at a network round
// trip per token and cache period).
func (v *Verifier) WatchRevocations(ctx context.Context, nc *nats.Conn, environment string) (*RevocationWatch, error) {
	if nc == nil {
		return nil, errors.New("resourceserver: WatchRevocations needs a NATS connection")
	}
	if environment == "" || strings.ContainsAny(environment, ".*> \t\r\n") {
		return nil, fmt.Errorf("resourceserver: invalid environment %q", environment)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("resourceserver: jetstream: %w", err)
	}
	setup, cancelSetup := context.WithTimeout(ctx, catchUpTimeout)
	defer cancelSetup()
	keys := &eventKeys{v: v, interval: v.keys.interval}
	if err := keys.fetch(setup); err != nil {
		return nil, fmt.Errorf("resourceserver: event-signing keys: %w", err)
	}
	stream, err := js.Stream(setup, eventStream)
	if err != nil {
		return nil, fmt.Errorf("resourceserver: stream %s: %w", eventStream, err)
	}
	start := v.now().Add(-v.lookback - v.leeway)
	cons, err := stream.OrderedConsumer(setup, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subjectPrefix + environment + "." + eventTokenRevoked, subjectPrefix + environment + "." + eventGrantRevoked,
			subjectPrefix + environment + "." + eventClientDelete},
		DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime:  &start,
	})
	if err != nil {
		return nil, fmt.Errorf("resourceserver: revocation consumer: %w", err)
	}
	w, caughtUp, err := v.consume(ctx, cons, environment, keys)
	if err != nil {
		return nil, err
	}
	select {
	case <-caughtUp:
		return w, nil
	case <-w.done:
		return nil, errors.New("resourceserver: revocation watch stopped before it caught up")
	case <-setup.Done():
		w.Stop()
		return nil, fmt.Errorf("resourceserver: revocations not caught up: %w", setup.Err())
	}
}

// consume starts the consumer; caughtUp is closed once the lookback window has been read.
func (v *Verifier) consume(ctx context.Context, cons jetstream.Consumer, env string, keys *eventKeys) (*RevocationWatch, <-chan struct{}, error) {
	caughtUp := make(chan struct{})
	var once sync.Once
	markCaughtUp := func() { once.Do(func() { close(caughtUp) }) }
	ignored := new(atomic.Int64)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if e, err := keys.verify(m.Subject(), m.Headers().Get(signatureHeader), m.Data()); err != nil {
			ignored.Add(1)
			v.log.Warn("resourceserver: ignoring a revocation message that does not verify",
				"environment", env, "subject", m.Subject(), "reason", err)
		} else {
			v.applyRevocation(env, e)
		}
		if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
			markCaughtUp()
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		v.log.Warn("resourceserver: revocation watch", "environment", env, "err", err)
	}))
	if err != nil {
		return nil, nil, fmt.Errorf("resourceserver: consume revocations: %w", err)
	}
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		markCaughtUp()
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &RevocationWatch{cc: cc, cancel: cancel, done: make(chan struct{}), ignored: ignored}
	go w.run(ctx, v.denied, v.now)
	return w, caughtUp, nil
}

// run prunes the deny-list until the watch ends.
func (w *RevocationWatch) run(ctx context.Context, d *denyList, now func() time.Time) {
	defer close(w.done)
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			w.cc.Stop()
			return
		case <-w.cc.Closed():
			w.cancel()
			return
		case <-tick.C:
			d.prune(now())
		}
	}
}

// applyRevocation adds the jtis a verified event revokes to the deny-list.
func (v *Verifier) applyRevocation(env string, e *signedEnvelope) {
	if e.Environment != env {
		v.log.Warn("resourceserver: ignoring a message that is not a revocation event", "environment", env)
		return
	}
	var tokens []revokedToken
	switch e.Type {
	case eventTokenRevoked:
		var t revokedToken
		if err := json.Unmarshal(e.Data, &t); err != nil {
			v.log.Warn("resourceserver: malformed token.revoked", "err", err)
			return
		}
		tokens = []revokedToken{t}
	case eventGrantRevoked:
		var g revokedGrant
		if err := json.Unmarshal(e.Data, &g); err != nil {
			v.log.Warn("resourceserver: malformed grant.revoked", "err", err)
			return
		}
		tokens = g.Tokens
	case eventClientDelete:
		// A deleted client's tokens are refused, however they were issued (its JWT
		// access tokens from client credentials are named by no revocation event). Its
		// id is never reused; the entry lasts as long as any of its tokens could.
		prefix := "client/" + env + "/"
		clientID := strings.TrimPrefix(e.Stream, prefix)
		if strings.HasPrefix(e.Stream, prefix) && clientID != "" && !strings.Contains(clientID, "/") {
			v.denied.add(clientKey(clientID), e.OccurredAt.Add(v.lookback+v.leeway), v.now())
		}
		return
	default:
		return
	}
	now := v.now()
	for _, t := range tokens {
		v.denied.add(t.JTI, t.ExpiresAt.Add(v.leeway), now)
	}
}
