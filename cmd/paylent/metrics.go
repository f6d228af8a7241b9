package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/ratelimit"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/metrics"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/workers"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// telemetry is the instance's metrics: one registry, made here and served on
// PAYLENT_METRICS_ADDR, and the observers handed to the components. With metrics off every
// observer is a nil interface, so no component does anything it did not do before.
type telemetry struct {
	reg *prometheus.Registry
	m   *metrics.Metrics // nil: metrics are off
}

func newTelemetry(cfg Config, log *slog.Logger) (*telemetry, error) {
	if cfg.MetricsAddr == "" {
		return &telemetry{}, nil
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, log)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &telemetry{reg: reg, m: m}, nil
}

// on reports whether metrics are on.
func (t *telemetry) on() bool { return t.m != nil }

// The observers: nil interfaces (not typed nils) when metrics are off.

func (t *telemetry) store() eventstore.AppendObserver {
	if t.m == nil {
		return nil
	}
	return t.m
}

func (t *telemetry) relay() workers.RelayObserver {
	if t.m == nil {
		return nil
	}
	return t.m
}

func (t *telemetry) tokens() app.TokenObserver {
	if t.m == nil {
		return nil
	}
	return t.m
}

func (t *telemetry) limits() ratelimit.Observer {
	if t.m == nil {
		return nil
	}
	return t.m
}

func (t *telemetry) requests() api.RequestObserver {
	if t.m == nil {
		return nil
	}
	return t.m
}

// watch registers what is read at scrape time: the log's head, the projections' positions,
// the relay's lag, the NATS connections and the password hasher.
func (t *telemetry) watch(rm *readModels, relay *workers.Relay, msg *messaging, hasher *secret.Hasher) error {
	if t.m == nil {
		return nil
	}
	return t.m.Watch(metrics.Sources{
		Head: rm.head.Latest,
		Projections: func() []metrics.Projection {
			out := make([]metrics.Projection, 0, len(rm.runtimes))
			for _, rt := range rm.runtimes {
				s := rt.Status()
				out = append(out, metrics.Projection{Name: s.Name, Position: s.Position, Ready: s.Ready})
			}
			return out
		},
		Relay: func(ctx context.Context, head int64) (metrics.Relay, error) {
			lag, err := relay.Lag(ctx, head)
			return metrics.Relay{Leader: lag.Leader, Behind: lag.Behind, Oldest: lag.Oldest}, err
		},
		NATS: map[string]func() bool{"instance": msg.conn.IsConnected, "relay": msg.relay.IsConnected},
		Hasher: func() metrics.Hasher {
			s := hasher.Stats()
			return metrics.Hasher{Waiting: s.Waiting, Running: s.Running, Busy: s.Busy}
		},
	})
}

// serve listens on PAYLENT_METRICS_ADDR and answers GET /metrics there, and nothing else,
// until the returned stop is called. With metrics off it does nothing.
func (t *telemetry) serve(cfg Config, log *slog.Logger) (stop func(), err error) {
	if t.m == nil {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on PAYLENT_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(t.reg, promhttp.HandlerOpts{
		ErrorLog: errLog, ErrorHandling: promhttp.ContinueOnError, Registry: t.reg,
		MaxRequestsInFlight: 4, Timeout: 2 * metrics.ScrapeTimeout}))
	srv := &http.Server{Handler: mux, ErrorLog: errLog, ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics are served", "addr", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck // best effort at shutdown
		<-done
	}, nil
}
