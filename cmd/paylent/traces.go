package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracing is the instance's OpenTelemetry tracer provider, exporting over OTLP/HTTP to
// OTEL_EXPORTER_OTLP_ENDPOINT; with no endpoint there is none, and every component gets a
// nil tracer (no spans, nothing installed). The provider is this process's, handed down;
// the global one is never set.
type tracing struct {
	tp *sdktrace.TracerProvider // nil: traces are off
}

func newTracing(ctx context.Context, cfg Config, log *slog.Logger) (*tracing, error) {
	if cfg.OTLPEndpoint == "" {
		return &tracing{}, nil
	}
	// The exporter also honours the other OTEL_EXPORTER_OTLP_* variables (headers,
	// certificates, timeout), as the OpenTelemetry specification says.
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.OTLPEndpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "paylent"))))
	log.Info("traces are exported", "otlp_endpoint", cfg.OTLPEndpoint)
	return &tracing{tp: tp}, nil
}

// tracer is Paylent's tracer, nil when traces are off.
func (t *tracing) tracer() trace.Tracer {
	if t.tp == nil {
		return nil
	}
	return t.tp.Tracer("github.com/paylent/paylent")
}

// shutdown exports what is buffered (bounded) and stops the provider.
func (t *tracing) shutdown(log *slog.Logger) {
	if t.tp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.tp.Shutdown(ctx); err != nil {
		log.Warn("trace export at shutdown incomplete", "err", err)
	}
}
