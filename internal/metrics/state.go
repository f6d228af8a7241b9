package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sources are read when Prometheus scrapes: state a component already keeps, reported as it
// is at that moment rather than pushed on every change. A nil field reports nothing.
type Sources struct {
	// Head reads the event log's head position (one read per scrape, shared by the lags).
	Head func(context.Context) (int64, error)
	// Projections report each read model's runtime.
	Projections func() []Projection
	// Relay reports the relay as seen from this instance, given the head just read.
	Relay func(ctx context.Context, head int64) (Relay, error)
	// NATS reports, per connection name (instance, relay), whether it is connected.
	NATS map[string]func() bool
	// Hasher reports the password hasher's queue.
	Hasher func() Hasher
}

// Projection is one read model's runtime at scrape time.
type Projection struct {
	Name     string
	Position int64 // the last applied position
	Ready    bool  // restored or rebuilt, not stopped by an error
}

// Relay is the relay at scrape time.
type Relay struct {
	Leader bool // this instance's relay is the one publishing
	// Behind is how many positions the head is past the last published event, and Oldest
	// the age of the first event not yet published (zero when Behind is 0).
	Behind int64
	Oldest time.Duration
}

// Hasher is the password hasher's state at scrape time.
type Hasher struct {
	Waiting int64  // callers queued for a turn
	Running int64  // computations running
	Busy    uint64 // callers refused with ErrBusy since start
}

// ScrapeTimeout bounds the reads one scrape makes (head, relay lag).
const ScrapeTimeout = 3 * time.Second

// Watch registers the scrape-time families that read src.
func (m *Metrics) Watch(src Sources) error {
	return m.reg.Register(&state{src: src, log: m.log})
}

var (
	headDesc = prometheus.NewDesc(Namespace+"_eventstore_head_position",
		"The event log's head position (the last committed event).", nil, nil)
	projectionPositionDesc = prometheus.NewDesc(Namespace+"_projection_position",
		"The last position a read model applied.", []string{"projection"}, nil)
	projectionLagDesc = prometheus.NewDesc(Namespace+"_projection_lag_positions",
		"Positions a read model is behind the event log's head.", []string{"projection"}, nil)
	projectionReadyDesc = prometheus.NewDesc(Namespace+"_projection_ready",
		"1 when a read model is restored or rebuilt and not stopped by an error.", []string{"projection"}, nil)
	relayLeaderDesc = prometheus.NewDesc(Namespace+"_relay_leader",
		"1 when this instance's relay is the one publishing events.", nil, nil)
	relayLagDesc = prometheus.NewDesc(Namespace+"_relay_lag_positions",
		"Committed events not yet published to JetStream (as this instance sees the relay: exact on the leader, "+
			"from the relay's checkpoint elsewhere).", nil, nil)
	relayLagSecondsDesc = prometheus.NewDesc(Namespace+"_relay_lag_seconds",
		"Age of the oldest committed event not yet published to JetStream (0 when none waits).", nil, nil)
	natsConnectedDesc = prometheus.NewDesc(Namespace+"_nats_connected",
		"1 when the NATS connection is connected, by connection (instance, relay).", []string{"connection"}, nil)
	hasherWaitingDesc = prometheus.NewDesc(Namespace+"_password_hasher_waiting",
		"Password hash computations queued for a turn in the hasher's budget.", nil, nil)
	hasherRunningDesc = prometheus.NewDesc(Namespace+"_password_hasher_running",
		"Password hash computations running.", nil, nil)
	hasherBusyDesc = prometheus.NewDesc(Namespace+"_password_hasher_busy_total",
		"Password hash requests refused because the hasher's queue was full or its deadline passed.", nil, nil)
)

// state is the collector over Sources.
type state struct {
	src Sources
	log *slog.Logger
}

// Describe implements prometheus.Collector.
func (s *state) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{headDesc, projectionPositionDesc, projectionLagDesc, projectionReadyDesc,
		relayLeaderDesc, relayLagDesc, relayLagSecondsDesc, natsConnectedDesc, hasherWaitingDesc, hasherRunningDesc,
		hasherBusyDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A source that cannot answer (the database is
// down) leaves its families out of this scrape rather than failing it.
func (s *state) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	head, headOK := int64(0), false
	if s.src.Head != nil {
		h, err := s.src.Head(ctx)
		if err != nil {
			s.log.Debug("metrics: cannot read the event log's head", "err", err)
		} else {
			head, headOK = h, true
			ch <- prometheus.MustNewConstMetric(headDesc, prometheus.GaugeValue, float64(head))
		}
	}
	if s.src.Projections != nil {
		for _, p := range s.src.Projections() {
			ch <- prometheus.MustNewConstMetric(projectionPositionDesc, prometheus.GaugeValue, float64(p.Position), p.Name)
			ch <- prometheus.MustNewConstMetric(projectionReadyDesc, prometheus.GaugeValue, boolValue(p.Ready), p.Name)
			if headOK {
				ch <- prometheus.MustNewConstMetric(projectionLagDesc, prometheus.GaugeValue, float64(max(head-p.Position, 0)), p.Name)
			}
		}
	}
	if s.src.Relay != nil && headOK {
		r, err := s.src.Relay(ctx, head)
		if err != nil {
			s.log.Debug("metrics: cannot read the relay's lag", "err", err)
		} else {
			ch <- prometheus.MustNewConstMetric(relayLeaderDesc, prometheus.GaugeValue, boolValue(r.Leader))
			ch <- prometheus.MustNewConstMetric(relayLagDesc, prometheus.GaugeValue, float64(r.Behind))
			ch <- prometheus.MustNewConstMetric(relayLagSecondsDesc, prometheus.GaugeValue, r.Oldest.Seconds())
		}
	}
	for name, connected := range s.src.NATS {
		ch <- prometheus.MustNewConstMetric(natsConnectedDesc, prometheus.GaugeValue, boolValue(connected()), name)
	}
	if s.src.Hasher != nil {
		h := s.src.Hasher()
		ch <- prometheus.MustNewConstMetric(hasherWaitingDesc, prometheus.GaugeValue, float64(h.Waiting))
		ch <- prometheus.MustNewConstMetric(hasherRunningDesc, prometheus.GaugeValue, float64(h.Running))
		ch <- prometheus.MustNewConstMetric(hasherBusyDesc, prometheus.CounterValue, float64(h.Busy))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
