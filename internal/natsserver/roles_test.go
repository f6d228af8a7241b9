package natsserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/api/ratelimit"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/internal/natsserver"
	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/resourceserver"
	"github.com/paylent/paylent/workers"
)

func TestNamesAgreeWithTheirOwners(t *testing.T) {
	if natsserver.EventStream != domain.StreamName || natsserver.EventSubjects != domain.SubjectWildcard ||
		natsserver.RateLimitBucket != ratelimit.DefaultBucket {
		t.Errorf("natsserver's names %s %s %s differ from domain's and ratelimit's", natsserver.EventStream,
			natsserver.EventSubjects, natsserver.RateLimitBucket)
	}
}

func TestAnonymousRefused(t *testing.T) {
	s := natstest.StartWithAuth(t)
	_, err := nats.Connect(s.ClientURL())
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous connect: %v, want an authorization violation", err)
	}
	// A seed the server does not know is refused the same way.
	other, err := natsserver.EnsureCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opt, err := resourceserver.NATSCredentials(other.Path(natsserver.RoleRelay))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nats.Connect(s.ClientURL(), opt); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("unknown nkey: %v, want an authorization violation", err)
	}
}

// violations collects the permission violations the server reports on a connection.
type violations struct {
	mu   sync.Mutex
	errs []string
}

func (v *violations) handler() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.errs = append(v.errs, err.Error())
	})
}

func (v *violations) waitFor(t *testing.T, subject string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		v.mu.Lock()
		for _, e := range v.errs {
			if strings.Contains(e, "Permissions Violation") && strings.Contains(e, subject) {
				v.mu.Unlock()
				return
			}
		}
		v.mu.Unlock()
	}
	t.Fatalf("no permission violation for %s; errors: %v", subject, v.errs)
}

func (v *violations) none(t *testing.T) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.errs) > 0 {
		t.Errorf("unexpected NATS errors: %v", v.errs)
	}
}

func envelope(pos int64, env, typ string, data any) *nats.Msg {
	d, _ := json.Marshal(data)
	b, _ := json.Marshal(domain.Envelope{EnvelopeVersion: 1, ID: "ev" + strconv.FormatInt(pos, 10), Environment: env, Type: typ,
		Stream: "token/" + env + "/x", Position: pos, OccurredAt: time.Now(), Data: d})
	m := &nats.Msg{Subject: domain.SubjectPrefix + env + "." + typ, Data: b, Header: nats.Header{}}
	m.Header.Set(workers.PositionHeader, strconv.FormatInt(pos, 10))
	return m
}

// Each role does what Paylent's code does with it, and nothing else: the relay creates the
// stream and publishes; an instance follows the stream and keeps rate limits but cannot
// publish events; a subscriber reads the stream (resourceserver.WatchRevocations) and can
// neither publish nor manage streams or KV.
func TestRolesDoTheirWorkAndNoMore(t *testing.T) {
	s := natstest.StartWithAuth(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	var relayErrs, instanceErrs, subErrs violations
	relay, _ := jetstream.New(natstest.ConnectAs(t, s, natsserver.RoleRelay, relayErrs.handler()))
	stream, err := workers.EnsureStream(ctx, relay, workers.StreamSettings{})
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	if _, err := workers.EnsureStream(ctx, relay, workers.StreamSettings{}); err != nil { // update path
		t.Fatalf("relay, second start: %v", err)
	}
	publish := func(pos int64, typ string, data any) {
		t.Helper()
		if _, err := relay.PublishMsg(ctx, envelope(pos, "acme-test", typ, data), jetstream.WithExpectLastSequence(uint64(pos-1))); err != nil {
			t.Fatalf("relay publish %d: %v", pos, err)
		}
	}
	publish(1, "client.registered", map[string]any{"client_id": "c1"})
	if _, err := stream.Info(ctx); err != nil {
		t.Fatalf("relay stream info: %v", err)
	}
	if msg, err := stream.GetMsg(ctx, 1); err != nil || msg.Header.Get(workers.PositionHeader) != "1" {
		t.Fatalf("relay reads the last message (resynchronisation): %v", err)
	}

	// The instance: projections' ordered consumer, readiness, the rate limiter's bucket.
	inc := natstest.ConnectAs(t, s, natsserver.RoleInstance, instanceErrs.handler())
	instance, _ := jetstream.New(inc)
	if _, err := instance.Stream(ctx, domain.StreamName); err != nil {
		t.Fatalf("instance stream info (readiness): %v", err)
	}
	cons, err := instance.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{domain.SubjectWildcard}, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatalf("instance consumer: %v", err)
	}
	it, err := cons.Messages()
	if err != nil {
		t.Fatalf("instance consume: %v", err)
	}
	defer it.Stop()
	if msg, err := it.Next(); err != nil || msg.Subject() != "paylent.events.acme-test.client.registered" {
		t.Fatalf("instance reads the stream: %v", err)
	}
	limiter, err := ratelimit.New(ctx, instance, ratelimit.Options{})
	if err != nil {
		t.Fatalf("instance rate limiter: %v", err)
	}
	for i := range 3 {
		if d, err := limiter.Allow(ctx, "token:acme-test:203.0.113.7", 2, time.Minute); err != nil || d.Degraded || d.Allowed != (i < 2) {
			t.Fatalf("instance rate limit %d: %+v %v", i, d, err)
		}
	}
	forged := envelope(2, "acme-test", "client.registered", map[string]any{"client_id": "forged"})
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second) // a refused publish gets no answer
	defer cancelShort()
	if _, err := instance.PublishMsg(short, forged); err == nil {
		t.Fatal("the instance published an event")
	}
	instanceErrs.waitFor(t, "paylent.events.acme-test.client.registered")

	// The subscriber: a downstream service watching revocations from its own connection.
	sub := natstest.ConnectAs(t, s, natsserver.RoleSubscriber, subErrs.handler())
	v, err := resourceserver.New(resourceserver.Config{Issuer: eventKeyIssuer(t), Audience: "http://api"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := v.WatchRevocations(ctx, sub, "acme-test")
	if err != nil {
		t.Fatalf("subscriber WatchRevocations: %v", err)
	}
	defer w.Stop()
	subJS, _ := jetstream.New(sub)
	revocations, err := subJS.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"paylent.events.acme-test.token.revoked"}})
	if err != nil {
		t.Fatalf("subscriber consumer: %v", err)
	}
	got := make(chan string, 1)
	cc, err := revocations.Consume(func(m jetstream.Msg) { got <- m.Subject() })
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	publish(2, "token.revoked", map[string]any{"jti": "j1", "kind": "access", "expires_at": time.Now().Add(time.Hour)})
	select {
	case subj := <-got:
		if subj != "paylent.events.acme-test.token.revoked" {
			t.Errorf("subscriber got %s", subj)
		}
	case <-ctx.Done():
		t.Fatal("the subscriber did not see the revocation")
	}
	core, err := sub.SubscribeSync(domain.SubjectWildcard) // plain subscriptions to the subjects too
	if err != nil {
		t.Fatal(err)
	}
	defer core.Unsubscribe() //nolint:errcheck // test cleanup

	// What the subscriber may not do.
	short, cancelShort = context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	if _, err := subJS.PublishMsg(short, envelope(3, "acme-test", "client.registered", nil)); err == nil {
		t.Fatal("the subscriber published an event")
	}
	subErrs.waitFor(t, "paylent.events.acme-test.client.registered")
	for _, try := range []struct {
		name    string
		subject string // the refused subject
		do      func(ctx context.Context) error
	}{
		{"create a stream", "$JS.API.STREAM.CREATE.MINE", func(ctx context.Context) error {
			_, err := subJS.CreateStream(ctx, jetstream.StreamConfig{Name: "MINE", Subjects: []string{"mine.>"}})
			return err
		}},
		{"delete the event stream", "$JS.API.STREAM.DELETE.PAYLENT_EVENTS", func(ctx context.Context) error { return subJS.DeleteStream(ctx, domain.StreamName) }},
		{"purge the event stream", "$JS.API.STREAM.PURGE.PAYLENT_EVENTS", func(ctx context.Context) error {
			st, err := subJS.Stream(ctx, domain.StreamName)
			if err != nil {
				return err
			}
			return st.Purge(ctx)
		}},
		{"use KV", "$JS.API.INFO", func(ctx context.Context) error {
			_, err := subJS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "MINE"})
			return err
		}},
		{"read the rate limits", "$JS.API.STREAM.INFO.KV_PAYLENT_RATELIMITS", func(ctx context.Context) error {
			_, err := subJS.KeyValue(ctx, ratelimit.DefaultBucket)
			return err
		}},
		{"list the consumers (to delete others')", "$JS.API.CONSUMER.NAMES.PAYLENT_EVENTS", func(ctx context.Context) error {
			st, err := subJS.Stream(ctx, domain.StreamName)
			if err != nil {
				return err
			}
			names := st.ConsumerNames(ctx)
			for range names.Name() {
			}
			return names.Err()
		}},
	} {
		short, cancelTry := context.WithTimeout(ctx, 500*time.Millisecond)
		if err := try.do(short); err == nil {
			t.Errorf("the subscriber could %s", try.name)
		}
		cancelTry()
		subErrs.waitFor(t, try.subject)
	}
	// Every role is kept from publishing events, the relay excepted.
	if err := inc.Publish("paylent.events.acme-test.token.revoked", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	instanceErrs.waitFor(t, "paylent.events.acme-test.token.revoked")
	if info, err := stream.Info(ctx); err != nil || info.State.Msgs != 2 {
		t.Errorf("stream holds %v messages (%v), want the relay's 2", info.State.Msgs, err)
	}
	relayErrs.none(t)
}

// eventKeyIssuer serves the discovery document and event-signing keys WatchRevocations reads
// before it subscribes (what it then receives here is unsigned, and only counted).
func eventKeyIssuer(t *testing.T) string {
	t.Helper()
	keys := eventsig.NewKeySet(eventsig.Derive(bytes.Repeat([]byte{7}, 32), eventsig.CurrentVersion).Public())
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks", //nolint:errcheck // test server
				"paylent_event_signing_jwks_uri": srv.URL + "/event-keys"})
		case "/event-keys":
			json.NewEncoder(w).Encode(keys.JWKS()) //nolint:errcheck // test server
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
