package main_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/eventsig"
	"github.com/paylent/paylent/internal/secret"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// With full NATS rights (a simulated compromise: publish directly on the event subjects),
// made-up events at the next position — signed by a stranger, unsigned, and a genuine
// message replayed with altered data — change nothing: a forged client.registered cannot
// obtain a token (401 invalid_client), a forged token.revoked does not revoke, and the real
// events committed at the forged positions are published and applied.
func TestForgedEventsOnNATSChangeNothing(t *testing.T) {
	t.Parallel()
	// A private stack: the forgeries take the log's next position, which other tests on a
	// shared stack would take first.
	s := startOne(t)
	nc, err := nats.Connect(s.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.Stream(t.Context(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	stranger := eventsig.Derive(bytes.Repeat([]byte{0x66}, 32), eventsig.CurrentVersion)
	// forge publishes three made-up copies of template at the next position: the data
	// rewritten by edit, signed by a stranger, unsigned, and under the genuine signature.
	forge := func(template *jetstream.RawStreamMsg, edit func(data map[string]any)) {
		t.Helper()
		var env domain.Envelope
		if err := json.Unmarshal(template.Data, &env); err != nil {
			t.Fatal(err)
		}
		info, _ := stream.Info(t.Context())
		last, _ := stream.GetMsg(t.Context(), info.State.LastSeq)
		var head domain.Envelope
		json.Unmarshal(last.Data, &head) //nolint:errcheck // a relay message
		var data map[string]any
		json.Unmarshal(env.Data, &data) //nolint:errcheck // an event's data
		edit(data)
		env.Data, _ = json.Marshal(data)
		env.ID, env.Position, env.StreamVersion = "forged", head.Position+1, 1
		env.Hash = eventstore.Hash(env.PrevHash, env)
		body, _ := json.Marshal(env)
		for _, sig := range []string{stranger.Sign(env.Hash), "", template.Header.Get(eventsig.Header)} {
			msg := &nats.Msg{Subject: env.Subject(), Data: body, Header: nats.Header{}}
			msg.Header.Set("Paylent-Position", "1000000")
			if sig != "" {
				msg.Header.Set(eventsig.Header, sig)
			}
			if _, err := js.PublishMsg(t.Context(), msg); err != nil {
				t.Fatal(err)
			}
		}
	}

	// A made-up client with a secret the attacker chose.
	real := s.client(t, s.acme, "--name", "Real", "--type", "confidential", "--grant", "client_credentials")
	template, err := stream.GetLastMsgForSubject(t.Context(), "paylent.events."+s.acme+".client.registered")
	if err != nil {
		t.Fatal(err)
	}
	forge(template, func(d map[string]any) {
		d["client_id"], d["secret_hash"] = "mallory", secret.Hash("mallory-secret")
	})
	// The real event at the forged position: another client, which must work.
	after := s.client(t, s.acme, "--name", "After", "--type", "confidential", "--grant", "client_credentials")
	code, body := s.a.post(s.acme, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "mallory", "mallory-secret")
	if code != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("forged client: %d %v", code, body)
	}
	tokenOf := func(c registered) string {
		t.Helper()
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.a.issuer(s.acme) + "/oauth/token"}
		tok, err := cc.Token(context.WithValue(t.Context(), oauth2.HTTPClient, loopback))
		if err != nil {
			t.Fatalf("token for %s: %v", c.ID, err)
		}
		return tok.AccessToken
	}
	tokenOf(after)
	introspect := func(tok string) any {
		t.Helper()
		code, body := s.a.post(s.acme, "/oauth/introspect", url.Values{"token": {tok}}, real.ID, real.Secret)
		if code != http.StatusOK {
			t.Fatalf("introspect: %d %v", code, body)
		}
		return body["active"]
	}
	revoke := func(tok string) {
		t.Helper()
		if code, _ := s.a.post(s.acme, "/oauth/revoke", url.Values{"token": {tok}}, real.ID, real.Secret); code != http.StatusOK {
			t.Fatalf("revoke: %d", code)
		}
	}

	// A forged revocation of a live token, modelled on a genuine one.
	victim, first, second := tokenOf(real), tokenOf(real), tokenOf(real)
	revoke(first)
	var revoked *jetstream.RawStreamMsg
	eventually(t, 5*time.Second, "token.revoked on the stream", func() bool {
		revoked, err = stream.GetLastMsgForSubject(t.Context(), "paylent.events."+s.acme+".token.revoked")
		return err == nil
	})
	parsed, _ := jwt.ParseInsecure([]byte(victim))
	forge(revoked, func(d map[string]any) { d["jti"] = parsed.JwtID() })
	revoke(second) // the real event at the forged position
	if introspect(second) != false || introspect(first) != false {
		t.Error("a real revocation was not applied")
	}
	if introspect(victim) != true {
		t.Error("a forged token.revoked revoked a live token")
	}

	// The stream holds every committed event once, signed by the relay, whatever else is on it.
	mk, _ := hexKey(strings.Repeat("5a", 32))
	keys := eventsig.NewKeySet(eventsig.Derive(mk, eventsig.CurrentVersion).Public())
	info, _ := stream.Info(t.Context())
	var head int64
	eventually(t, 5*time.Second, "the relay published the forged positions' real events", func() bool {
		seen := map[int64]int{}
		head = 0
		info, _ = stream.Info(t.Context())
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
			m, err := stream.GetMsg(t.Context(), seq)
			if err != nil {
				return false
			}
			if env, err := keys.VerifyMessage(m.Subject, m.Header.Get(eventsig.Header), m.Data); err == nil {
				seen[env.Position]++
				head = max(head, env.Position)
			}
		}
		for p := int64(1); p <= head; p++ {
			if seen[p] != 1 {
				return false
			}
		}
		return head > 0
	})
	if code, out, errOut := cli(t, s.cliEnv, "verify", "--env", s.acme); code != 0 {
		t.Errorf("paylent verify: %d %s %s", code, out, errOut)
	}
}

func hexKey(s string) ([]byte, error) { return hex.DecodeString(s) }
