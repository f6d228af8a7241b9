package main_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads GET /metrics at addr.
func scrape(t *testing.T, addr string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("scrape is not the Prometheus text format: %v", err)
	}
	return fams, string(raw)
}

// sample is the value of a family's series whose labels include these (-1 if none): a
// counter's or gauge's value, a histogram's count.
func sample(fams map[string]*dto.MetricFamily, family string, labels ...string) float64 {
	mf := fams[family]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// A server with PAYLENT_METRICS_ADDR serves GET /metrics there (and nothing else), in the
// Prometheus text format: after one client-credentials token, one refused login and
// readiness, every family is present with the values that happened, and no label carries
// an environment, a client or a secret.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startOne(t, "PAYLENT_METRICS_ADDR="+addr, "PAYLENT_RATE_LIMITS=on")
	backend := s.client(t, "acme-test", "--name", "Backend", "--type", "confidential", "--grant", "client_credentials")
	code, tok := s.a.post("acme-test", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, backend.ID, backend.Secret)
	if code != http.StatusOK {
		t.Fatalf("token: %d %v", code, tok)
	}
	// The login page's limit is 10 per minute per address: the eleventh is refused.
	refused := 0
	for range 11 {
		if code, _, _ := s.a.postRaw("acme-test", "/login", "application/x-www-form-urlencoded", "email=a%40b.c", "", ""); code == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d of 11 logins refused, want 1", refused)
	}
	s.a.waitReady("acme-test", 30*time.Second)

	var fams map[string]*dto.MetricFamily
	var text string
	eventually(t, 10*time.Second, "projections and relay caught up in the metrics", func() bool {
		fams, text = scrape(t, addr)
		for _, p := range []string{"catalog", "keys", "tokens", "sessions", "mailqueue"} {
			if sample(fams, "paylent_projection_lag_positions", "projection", p) != 0 {
				return false
			}
		}
		return sample(fams, "paylent_relay_lag_positions") == 0 && sample(fams, "paylent_relay_leader") == 1
	})
	head := sample(fams, "paylent_eventstore_head_position")
	for _, c := range []struct {
		family string
		labels []string
		ok     func(float64) bool
		want   string
	}{
		{"paylent_tokens_issued_total", []string{"grant", "client_credentials", "format", "jwt"}, eq(1), "1"},
		{"paylent_http_requests_total", []string{"route", "/oauth/token", "method", "POST", "class", "environment", "status", "200"}, eq(1), "1"},
		{"paylent_http_requests_total", []string{"route", "/login", "method", "POST", "class", "environment", "status", "429"}, eq(1), "1"},
		{"paylent_http_request_duration_seconds", []string{"route", "/oauth/token", "method", "POST", "class", "environment"}, eq(1), "1 observation"},
		{"paylent_http_requests_total", []string{"route", "/readyz", "class", "unknown", "status", "200"}, atLeast(1), ">= 1"},
		{"paylent_ratelimit_rejections_total", []string{"limit", "login"}, eq(1), "1"},
		{"paylent_eventstore_head_position", nil, atLeast(10), ">= 10"},
		{"paylent_eventstore_append_duration_seconds", []string{"outcome", "ok"}, atLeast(1), ">= 1 (the token)"},
		{"paylent_eventstore_commit_duration_seconds", nil, atLeast(1), ">= 1"},
		{"paylent_eventstore_commit_batch_requests", nil, atLeast(1), ">= 1"},
		{"paylent_eventstore_committed_events_total", nil, atLeast(1), ">= 1"},
		{"paylent_relay_published_events_total", nil, func(v float64) bool { return v >= 1 && v <= head }, "1 .. head"},
		{"paylent_relay_lag_seconds", nil, eq(0), "0"},
		{"paylent_projection_position", []string{"projection", "tokens"}, eq(head), "the head"},
		{"paylent_projection_ready", []string{"projection", "catalog"}, eq(1), "1"},
		{"paylent_nats_connected", []string{"connection", "instance"}, eq(1), "1"},
		{"paylent_nats_connected", []string{"connection", "relay"}, eq(1), "1"},
		{"paylent_password_hasher_waiting", nil, eq(0), "0"},
		{"paylent_password_hasher_running", nil, eq(0), "0"},
		{"paylent_password_hasher_busy_total", nil, eq(0), "0"},
		{"go_goroutines", nil, atLeast(10), ">= 10"},
		{"process_resident_memory_bytes", nil, atLeast(1 << 20), ">= 1 MiB"},
	} {
		if got := sample(fams, c.family, c.labels...); !c.ok(got) {
			t.Errorf("%s%v = %v, want %s", c.family, c.labels, got, c.want)
		}
	}
	// Bounded and secret-free labels: no environment, client id, secret or token appears.
	for _, leak := range []string{"acme-test", backend.ID, backend.Secret, tok["access_token"].(string)} {
		if strings.Contains(text, leak) {
			t.Errorf("the metrics name %q", leak)
		}
	}

	// The metrics listener serves /metrics and nothing else; the public listener no metrics.
	for _, probe := range []struct{ method, url string }{
		{"GET", "http://" + addr + "/"}, {"GET", "http://" + addr + "/healthz"}, {"GET", "http://" + addr + "/.well-known/jwks.json"},
		{"POST", "http://" + addr + "/metrics"},
	} {
		req, _ := http.NewRequest(probe.method, probe.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s on the metrics listener: %d", probe.method, probe.url, resp.StatusCode)
		}
	}
	if code, _, body := s.a.getRaw("acme-test", "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the public listener: %d %s", code, body)
	}
}

func eq(want float64) func(float64) bool     { return func(v float64) bool { return v == want } }
func atLeast(min float64) func(float64) bool { return func(v float64) bool { return v >= min } }

// PAYLENT_METRICS_ADDR and OTEL_EXPORTER_OTLP_ENDPOINT are checked with the rest of the
// configuration.
func TestMetricsAddrValidated(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"9464", "localhost", "127.0.0.1:99999", "127.0.0.1:http"} {
		code, _, stderr := cli(t, []string{"PAYLENT_METRICS_ADDR=" + bad}, "serve")
		if code != 2 || !strings.Contains(stderr, "PAYLENT_METRICS_ADDR") {
			t.Errorf("PAYLENT_METRICS_ADDR=%s: exit %d, %q", bad, code, stderr)
		}
	}
	code, _, stderr := cli(t, []string{"PAYLENT_METRICS_ADDR=127.0.0.1:4000", "PAYLENT_HTTP_ADDR=127.0.0.1:4000"}, "serve")
	if code != 2 || !strings.Contains(stderr, "must differ") {
		t.Errorf("same address as HTTP: exit %d, %q", code, stderr)
	}
	for _, bad := range []string{"127.0.0.1:4318", "grpc://collector:4317", "http://"} {
		code, _, stderr := cli(t, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + bad}, "serve")
		if code != 2 || !strings.Contains(stderr, "OTEL_EXPORTER_OTLP_ENDPOINT") {
			t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT=%s: exit %d, %q", bad, code, stderr)
		}
	}
}
