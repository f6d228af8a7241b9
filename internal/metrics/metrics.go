package metrics

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every Paylent metric.
const Namespace = "paylent"

// Metrics are the families Paylent records as things happen. Every method is safe on a nil
// *Metrics (it does nothing), but components are handed nil interfaces when metrics are
// off, so they skip even the call.
type Metrics struct {
	reg prometheus.Registerer
	log *slog.Logger

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	tokensIssued    *prometheus.CounterVec
	appendDuration  *prometheus.HistogramVec
	commitDuration  prometheus.Histogram
	commitRequests  prometheus.Histogram
	committedEvents prometheus.Counter
	relayPublished  prometheus.Counter
	rateLimited     *prometheus.CounterVec
}

// latencyBuckets suit requests and appends: 1 ms to 10 s.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New registers Paylent's families, the Go runtime collector and the process collector on
// reg. log receives failures of the scrape-time sources (nil discards them).
func New(reg prometheus.Registerer, log *slog.Logger) (*Metrics, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: reg, log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "http",
			Name: "requests_total",
			Help: "HTTP requests answered, by route pattern (never the raw path), method, environment class and status."},
			[]string{"route", "method", "class", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "http",
			Name: "request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern, method and environment class.",
			Buckets: latencyBuckets}, []string{"route", "method", "class"}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "tokens",
			Name: "issued_total", Help: "Access tokens issued at the token endpoint, by grant type and access token format."},
			[]string{"grant", "format"}),
		appendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "eventstore",
			Name: "append_duration_seconds", Help: "Time from an append request to its outcome (queueing and group commit included), by outcome.",
			Buckets: latencyBuckets}, []string{"outcome"}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "eventstore",
			Name: "commit_duration_seconds", Help: "Time of one group-commit transaction.", Buckets: latencyBuckets}),
		commitRequests: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "eventstore",
			Name: "commit_batch_requests", Help: "Append requests grouped into one committed transaction (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9)}), // 1 .. 256, the batch cap
		committedEvents: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "eventstore",
			Name: "committed_events_total", Help: "Events committed by this instance."}),
		relayPublished: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "relay",
			Name: "published_events_total", Help: "Events this instance's relay published to JetStream (acknowledged)."}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "ratelimit",
			Name: "rejections_total", Help: "Requests refused by a rate limit, by limit (token, login, register, management)."},
			[]string{"limit"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.requestDuration, m.tokensIssued, m.appendDuration,
		m.commitDuration, m.commitRequests, m.committedEvents, m.relayPublished, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveRequest records one answered HTTP request (api.RequestObserver). route must be a
// route pattern and class an environment class: both are bounded sets, as label values
// must be.
func (m *Metrics) ObserveRequest(route, method, class string, status int, elapsed time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, class, statusLabel(status)).Inc()
	m.requestDuration.WithLabelValues(route, method, class).Observe(elapsed.Seconds())
}

// statusLabel avoids an allocation for the common codes.
func statusLabel(status int) string {
	switch status {
	case 200:
		return "200"
	case 302:
		return "302"
	case 303:
		return "303"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	case 429:
		return "429"
	}
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status)
}

// TokenIssued counts an access token issued by a grant, in a format (app.TokenObserver).
func (m *Metrics) TokenIssued(grant, format string) {
	if m == nil {
		return
	}
	m.tokensIssued.WithLabelValues(grant, format).Inc()
}

// AppendDone records one append request's latency and outcome (eventstore.AppendObserver).
func (m *Metrics) AppendDone(elapsed time.Duration, outcome string) {
	if m == nil {
		return
	}
	m.appendDuration.WithLabelValues(outcome).Observe(elapsed.Seconds())
}

// BatchCommitted records one group-commit transaction (eventstore.AppendObserver).
func (m *Metrics) BatchCommitted(requests, events int, elapsed time.Duration) {
	if m == nil {
		return
	}
	m.commitDuration.Observe(elapsed.Seconds())
	m.commitRequests.Observe(float64(requests))
	m.committedEvents.Add(float64(events))
}

// EventsPublished counts events the relay published (workers.RelayObserver).
func (m *Metrics) EventsPublished(n int) {
	if m == nil {
		return
	}
	m.relayPublished.Add(float64(n))
}

// RateLimited counts a request refused by the named limit (ratelimit.Observer).
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(limit).Inc()
}
