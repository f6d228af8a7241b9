package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// fullRegistry has every family: one observation of each event, and sources for the state.
func fullRegistry(t *testing.T, head func(context.Context) (int64, error)) (*prometheus.Registry, *metrics.Metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveRequest("/oauth/token", "POST", "environment", 200, 3*time.Millisecond)
	m.TokenIssued("client_credentials", "jwt")
	m.AppendDone(2*time.Millisecond, "ok")
	m.BatchCommitted(3, 5, time.Millisecond)
	m.EventsPublished(5)
	m.RateLimited("token")
	err = m.Watch(metrics.Sources{
		Head: head,
		Projections: func() []metrics.Projection {
			return []metrics.Projection{{Name: "catalog", Position: 40, Ready: true}, {Name: "tokens", Position: 42, Ready: true}}
		},
		Relay: func(_ context.Context, head int64) (metrics.Relay, error) {
			return metrics.Relay{Leader: true, Behind: head - 39, Oldest: 1500 * time.Millisecond}, nil
		},
		NATS:   map[string]func() bool{"instance": func() bool { return true }, "relay": func() bool { return false }},
		Hasher: func() metrics.Hasher { return metrics.Hasher{Waiting: 3, Running: 2, Busy: 7} },
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg, m
}

func families(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// value is the value of the family's series with exactly these labels (-1 if none).
func value(mf *dto.MetricFamily, labels map[string]string) float64 {
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
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

func TestFamiliesAndValues(t *testing.T) {
	reg, _ := fullRegistry(t, func(context.Context) (int64, error) { return 42, nil })
	fams := families(t, reg)
	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"paylent_http_requests_total", map[string]string{"route": "/oauth/token", "method": "POST", "class": "environment", "status": "200"}, 1},
		{"paylent_http_request_duration_seconds", map[string]string{"route": "/oauth/token", "method": "POST", "class": "environment"}, 1},
		{"paylent_tokens_issued_total", map[string]string{"grant": "client_credentials", "format": "jwt"}, 1},
		{"paylent_eventstore_append_duration_seconds", map[string]string{"outcome": "ok"}, 1},
		{"paylent_eventstore_commit_duration_seconds", nil, 1},
		{"paylent_eventstore_commit_batch_requests", nil, 1},
		{"paylent_eventstore_committed_events_total", nil, 5},
		{"paylent_eventstore_head_position", nil, 42},
		{"paylent_relay_published_events_total", nil, 5},
		{"paylent_relay_leader", nil, 1},
		{"paylent_relay_lag_positions", nil, 3},
		{"paylent_relay_lag_seconds", nil, 1.5},
		{"paylent_projection_position", map[string]string{"projection": "catalog"}, 40},
		{"paylent_projection_lag_positions", map[string]string{"projection": "catalog"}, 2},
		{"paylent_projection_lag_positions", map[string]string{"projection": "tokens"}, 0},
		{"paylent_projection_ready", map[string]string{"projection": "tokens"}, 1},
		{"paylent_nats_connected", map[string]string{"connection": "instance"}, 1},
		{"paylent_nats_connected", map[string]string{"connection": "relay"}, 0},
		{"paylent_ratelimit_rejections_total", map[string]string{"limit": "token"}, 1},
		{"paylent_password_hasher_waiting", nil, 3},
		{"paylent_password_hasher_running", nil, 2},
		{"paylent_password_hasher_busy_total", nil, 7},
	} {
		if got := value(fams[c.family], c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.family, c.labels, got, c.want)
		}
	}
	for _, f := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"} {
		if fams[f] == nil && !(strings.HasPrefix(f, "process_") && !processMetrics()) {
			t.Errorf("family %s missing", f)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "paylent_http_requests_total"); err != nil || n != 1 {
		t.Errorf("http series: %d %v", n, err)
	}
}

// processMetrics: the process collector reports only where /proc exists.
func processMetrics() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// With the event store unreachable, the lags drop out of the scrape; the rest is served.
func TestScrapeWithoutHead(t *testing.T) {
	reg, _ := fullRegistry(t, func(context.Context) (int64, error) { return 0, errors.New("database down") })
	fams := families(t, reg)
	for _, gone := range []string{"paylent_eventstore_head_position", "paylent_projection_lag_positions", "paylent_relay_lag_positions"} {
		if fams[gone] != nil {
			t.Errorf("%s reported without a head", gone)
		}
	}
	for _, kept := range []string{"paylent_projection_position", "paylent_nats_connected", "paylent_password_hasher_waiting", "paylent_tokens_issued_total"} {
		if fams[kept] == nil {
			t.Errorf("%s missing when the head is unreadable", kept)
		}
	}
}

// Methods on a nil *Metrics do nothing (metrics off).
func TestNilMetrics(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveRequest("/", "GET", "unknown", 200, time.Millisecond)
	m.TokenIssued("client_credentials", "jwt")
	m.AppendDone(time.Millisecond, "ok")
	m.BatchCommitted(1, 1, time.Millisecond)
	m.EventsPublished(1)
	m.RateLimited("token")
}

// The registry is the caller's: a second set of families on the same registry is refused,
// a fresh registry takes them (no global state).
func TestRegistryIsTheCallers(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg, nil); err == nil {
		t.Error("registered twice on one registry")
	}
	if _, err := metrics.New(prometheus.NewRegistry(), nil); err != nil {
		t.Errorf("a second registry: %v", err)
	}
}

// Every expression of the Grafana dashboard names families Paylent exports.
func TestGrafanaDashboardUsesExportedFamilies(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "paylent.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/paylent.json: %v", err)
	}
	reg, _ := fullRegistry(t, func(context.Context) (int64, error) { return 42, nil })
	fams := families(t, reg)
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "query") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions in the dashboard", len(exprs))
	}
	name := regexp.MustCompile(`\b(paylent|go|process)_[a-z0-9_]+`)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, n := range name.FindAllString(e, -1) {
			base := n
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(n, suffix); ok && fams[b] != nil {
					base = b
				}
			}
			if fams[base] == nil && !(strings.HasPrefix(base, "process_") && !processMetrics()) {
				t.Errorf("the dashboard uses %s (in %q), which Paylent does not export", n, e)
			}
			used[base] = true
		}
	}
	for f := range fams {
		if strings.HasPrefix(f, "paylent_") && !used[f] {
			t.Errorf("family %s is not on the dashboard", f)
		}
	}
}
