package main_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP trace receiver on loopback that keeps what it is sent.
type collector struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
	raw   bytes.Buffer
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		raw, err := io.ReadAll(body)
		var req coltrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(raw, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.raw.Write(raw)
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				c.spans = append(c.spans, ss.GetSpans()...)
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out) //nolint:errcheck // the exporter retries
	}))
	t.Cleanup(c.Close)
	return c
}

// find returns the spans of trace with the given name.
func (c *collector) find(traceID []byte, name string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range c.spans {
		if (traceID == nil || bytes.Equal(s.GetTraceId(), traceID)) && s.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, a token request continues the caller's trace: the
// request's span is the caller's child, the command's the request's, the append the
// command's; the relay's publish rounds are exported too; no secret is in any span.
func TestTracesExported(t *testing.T) {
	t.Parallel()
	col := startCollector(t)
	s := startOne(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+col.URL)
	backend := s.client(t, "acme-test", "--name", "Backend", "--type", "confidential", "--grant", "client_credentials")

	traceID, parentID := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/oauth/token", s.a.port),
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Host = s.a.host("acme-test")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	req.SetBasicAuth(backend.ID, backend.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || token.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}

	tid, _ := hex.DecodeString(traceID)
	pid, _ := hex.DecodeString(parentID)
	var httpSpan, command, appendSpan *tracepb.Span
	eventually(t, 15*time.Second, "the token request's spans at the collector", func() bool {
		h, c, a := col.find(tid, "POST /oauth/token"), col.find(tid, "command token.Issue"), col.find(tid, "eventstore.append")
		if len(h) == 0 || len(c) == 0 || len(a) == 0 {
			return false
		}
		httpSpan, command, appendSpan = h[0], c[0], a[0]
		return true
	})
	if !bytes.Equal(httpSpan.GetParentSpanId(), pid) || !bytes.Equal(command.GetParentSpanId(), httpSpan.GetSpanId()) ||
		!bytes.Equal(appendSpan.GetParentSpanId(), command.GetSpanId()) {
		t.Errorf("spans are not nested caller → request → command → append")
	}
	attrs := map[string]string{}
	for _, kv := range httpSpan.GetAttributes() {
		attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
		if attrs[kv.GetKey()] == "" {
			attrs[kv.GetKey()] = fmt.Sprint(kv.GetValue().GetIntValue())
		}
	}
	if attrs["http.route"] != "/oauth/token" || attrs["http.response.status_code"] != "200" || attrs["paylent.environment"] != "acme-test" {
		t.Errorf("request span attributes %v", attrs)
	}
	eventually(t, 15*time.Second, "a relay publish span", func() bool { return len(col.find(nil, "relay.publish")) > 0 })

	col.mu.Lock()
	defer col.mu.Unlock()
	for _, secret := range []string{backend.Secret, token.AccessToken} {
		if bytes.Contains(col.raw.Bytes(), []byte(secret)) {
			t.Errorf("a span carries a secret: %.12s…", secret)
		}
	}
}
