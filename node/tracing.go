package node

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracerProvider returns the node's OpenTelemetry tracer provider and a
// function that flushes and stops it. Tracing is off (nil provider) unless
// Config.TracerProvider is set, --otlp-endpoint names a collector, or the
// standard OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) variable is
// set; spans then go to that collector over OTLP/HTTP.
func (n *Node) tracerProvider() (trace.TracerProvider, func(context.Context) error, error) {
	if n.cfg.TracerProvider != nil {
		return n.cfg.TracerProvider, func(context.Context) error { return nil }, nil
	}
	endpoint := n.cfg.OTLPEndpoint
	if endpoint == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	var opts []otlptracehttp.Option
	if endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("OTLP trace exporter for %q: %w", endpoint, err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "dynakv"),
			attribute.String("service.instance.id", n.cfg.ID),
		)),
	)
	return tp, tp.Shutdown, nil
}
