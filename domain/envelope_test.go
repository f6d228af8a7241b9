package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/eventtypes"
)

// Envelopes arrive from NATS, where anyone may publish: decoding never panics, and what
// decodes re-encodes to an equal envelope.
func FuzzEnvelopeDecode(f *testing.F) {
	f.Add([]byte(`{"envelope_version":1,"id":"x","environment":"acme-test","stream":"environment-acme-test","stream_version":1,"position":4,"type":"environment.created","schema_version":1,"occurred_at":"2026-11-22T19:35:39.015113Z","actor":{"kind":"system"},"data":{"environment":"acme-test","account":"acme","settings":{}},"hash":"00","prev_hash":"0000"}`))
	f.Add([]byte(`{"type":"account.created","schema_version":1,"data":{"account":"a"}}`))
	f.Add([]byte(`{"hash":"zz"}`))
	reg := eventtypes.Registry()
	f.Fuzz(func(t *testing.T, b []byte) {
		var env domain.Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			return
		}
		_ = env.Subject()
		_ = env.Aggregate()
		reg.DecodeEnvelope(env) //nolint:errcheck // must not panic; errors are fine
		again, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back domain.Envelope
		if err := json.Unmarshal(again, &back); err != nil || back.Position != env.Position || back.Type != env.Type {
			t.Fatalf("round trip: %v %+v", err, back)
		}
	})
}
