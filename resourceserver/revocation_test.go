package resourceserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS runs a JetStream server with the PAYLENT_EVENTS stream, as Paylent's relay
// creates it.
func startNATS(t *testing.T) (*server.Server, jetstream.JetStream) {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: eventStream, Subjects: []string{subjectPrefix + ">"}}); err != nil {
		t.Fatal(err)
	}
	return ns, js
}

// testEventKey signs events as Paylent's relay does; the test issuer publishes it.
var (
	testEventKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32))
	testEventKID = "relay-test-key"
	positions    atomic.Int64
)

// signedEvent returns a hashed envelope and its signature header, as the relay publishes.
func signedEvent(env, typ string, data any, key ed25519.PrivateKey, kid string) ([]byte, string) {
	return signedEventOn(env, "token/"+env+"/x", typ, data, key, kid)
}

func signedEventOn(env, stream, typ string, data any, key ed25519.PrivateKey, kid string) ([]byte, string) {
	raw, _ := json.Marshal(data)
	e := signedEnvelope{ID: fmt.Sprint("ev-", positions.Add(1)), Environment: env, Stream: stream, StreamVersion: 1,
		Position: positions.Load(), Type: typ, SchemaVersion: 1, OccurredAt: time.Now().UTC().Truncate(time.Microsecond),
		Actor: json.RawMessage(`{"kind":"system"}`), Data: raw, PrevHash: hex.EncodeToString(make([]byte, 32))}
	hash := eventHash(make([]byte, 32), &e)
	e.Hash = hex.EncodeToString(hash)
	b, _ := json.Marshal(map[string]any{"envelope_version": 1, "id": e.ID, "environment": env, "stream": e.Stream,
		"stream_version": 1, "position": e.Position, "type": typ, "schema_version": 1, "occurred_at": e.OccurredAt,
		"actor": e.Actor, "data": e.Data, "hash": e.Hash, "prev_hash": e.PrevHash})
	sig := ed25519.Sign(key, append([]byte(signingContext), hash...))
	return b, kid + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// publishEvent publishes a signed envelope as the relay does.
func publishEvent(t *testing.T, js jetstream.JetStream, env, typ string, data any) {
	t.Helper()
	b, sig := signedEvent(env, typ, data, testEventKey, testEventKID)
	publishRaw(t, js, subjectPrefix+env+"."+typ, b, sig)
}

func publishRaw(t *testing.T, js jetstream.JetStream, subject string, data []byte, sig string) {
	t.Helper()
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if sig != "" {
		msg.Header.Set(signatureHeader, sig)
	}
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

func revoked(jti string, exp time.Time) map[string]any {
	return map[string]any{"jti": jti, "kind": "access", "client_id": "c", "expires_at": exp, "reason": "revoked_by_client"}
}

func TestWatchRevocations(t *testing.T) {
	ns, js := startNATS(t)
	iss := newIssuer(t)
	iss.publish("k1", 0)
	v := iss.verifier(nil)
	now := time.Now()
	token := func(jti string) string {
		c := iss.claims(now)
		c["jti"] = jti
		return iss.sign("k1", jwa.RS256, c)
	}
	exp := now.Add(time.Hour)
	publishEvent(t, js, "acme-test", eventTokenRevoked, revoked("before-start", exp))
	publishEvent(t, js, "other-env", eventTokenRevoked, revoked("other-env", exp))
	publishEvent(t, js, "acme-test", eventTokenRevoked, revoked("long-expired", now.Add(-time.Hour)))

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	w, err := v.WatchRevocations(t.Context(), nc, "acme-test")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	refused(t, v, token("before-start"))
	mustVerify(t, v, token("other-env"))
	if v.denied.has("long-expired") {
		t.Error("an expired token was kept in the deny-list")
	}

	// Live: refused within milliseconds; a grant's revocation covers every token it lists.
	tok := token("live")
	mustVerify(t, v, tok)
	start := time.Now()
	publishEvent(t, js, "acme-test", eventTokenRevoked, revoked("live", exp))
	eventually(t, time.Second, "live revocation", func() bool { _, err := v.Verify(t.Context(), tok); return err != nil })
	t.Logf("revocation applied %s after publishing", time.Since(start))
	publishEvent(t, js, "acme-test", eventGrantRevoked, map[string]any{"reason": "refresh_token_reuse",
		"tokens": []any{revoked("g1", exp), revoked("g2", exp)}})
	eventually(t, time.Second, "grant revocation", func() bool { return v.denied.has("g1") && v.denied.has("g2") })
	refused(t, v, token("g2"))

	// A deleted client's tokens are all refused, whatever their jti; another client's pass.
	ofClient := func(jti, clientID string) string {
		c := iss.claims(now)
		c["jti"], c["client_id"] = jti, clientID
		return iss.sign("k1", jwa.RS256, c)
	}
	mustVerify(t, v, ofClient("cc-1", "client-1"))
	b, sig := signedEventOn("acme-test", "client/acme-test/client-1", eventClientDelete, map[string]any{}, testEventKey, testEventKID)
	publishRaw(t, js, subjectPrefix+"acme-test."+eventClientDelete, b, sig)
	eventually(t, time.Second, "client deletion", func() bool { return v.denied.has(clientKey("client-1")) })
	refused(t, v, ofClient("cc-2", "client-1"))
	mustVerify(t, v, ofClient("cc-3", "client-2"))
	// A deletion on another environment's stream changes nothing here.
	b, sig = signedEventOn("acme-test", "client/other-env/client-2", eventClientDelete, map[string]any{}, testEventKey, testEventKID)
	publishRaw(t, js, subjectPrefix+"acme-test."+eventClientDelete, b, sig)
	publishEvent(t, js, "acme-test", eventTokenRevoked, revoked("marker", exp)) // applied after it
	eventually(t, time.Second, "the marker", func() bool { return v.denied.has("marker") })
	mustVerify(t, v, ofClient("cc-4", "client-2"))

	w.Stop()
	select {
	case <-w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop")
	}
}

// Revocations published while the watch is cut off from NATS are caught up on reconnect.
func TestWatchRevocationsCatchesUpAfterDisconnect(t *testing.T) {
	ns, js := startNATS(t)
	iss := newIssuer(t)
	iss.publish("k1", 0)
	v := iss.verifier(nil)
	p := newProxy(t, ns.Addr().String())
	nc, err := nats.Connect("nats://"+p.addr, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	w, err := v.WatchRevocations(t.Context(), nc, "acme-test")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	p.cut()
	eventually(t, 5*time.Second, "disconnected", func() bool { return !nc.IsConnected() })
	publishEvent(t, js, "acme-test", eventTokenRevoked, revoked("while-away", time.Now().Add(time.Hour)))
	time.Sleep(100 * time.Millisecond)
	if v.denied.has("while-away") {
		t.Fatal("learnt a revocation while disconnected?")
	}
	p.restore()
	eventually(t, 15*time.Second, "caught up after reconnecting", func() bool { return v.denied.has("while-away") })
}

func TestWatchRevocationsArguments(t *testing.T) {
	v := must(New(Config{Issuer: "http://x", Audience: "a"}))
	if _, err := v.WatchRevocations(t.Context(), nil, "acme-test"); err == nil {
		t.Error("nil connection accepted")
	}
	ns, _ := startNATS(t)
	nc, _ := nats.Connect(ns.ClientURL())
	defer nc.Close()
	for _, env := range []string{"", "acme.*", ">", "a b"} {
		if _, err := v.WatchRevocations(t.Context(), nc, env); err == nil {
			t.Errorf("environment %q accepted", env)
		}
	}
}

func refused(t *testing.T, v *Verifier, tok string) {
	t.Helper()
	if _, err := v.Verify(t.Context(), tok); err == nil || !strings.Contains(err.Error(), descRevoked) {
		t.Errorf("revoked token: %s", describe(err))
	}
}

// proxy forwards TCP to a NATS server and can cut every connection.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: ln.Addr().String(), target: target}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }() //nolint:errcheck // ends with the connection
			go func() { io.Copy(c, s); c.Close() }() //nolint:errcheck // ends with the connection
		}
	}()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}
