package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"dynakv/replica"
	"dynakv/versioning"
)

// KV is what the API needs from the node: the replica coordinator.
type KV interface {
	// Get returns the merged state of key; nil when no replica has it.
	Get(ctx context.Context, key []byte, opts replica.ReadOptions) (*versioning.Set, error)
	// Put applies a write or delete and returns the key's new state.
	Put(ctx context.Context, key []byte, w replica.Write, opts replica.WriteOptions) (*versioning.Set, error)
	// N is the number of replicas per key, the upper bound of every level.
	N() int
}

var _ KV = (*replica.Coordinator)(nil)

// Defaults applied by NewHandler to zero Config fields.
const (
	DefaultMaxValueBytes = 8 << 20
	DefaultMaxTimeout    = 60 * time.Second
)

// MaxKeyBytes is the longest key the API accepts, in bytes.
const MaxKeyBytes = 1024

// Route is an extra route served next to the data routes, such as
// "GET /cluster/members" or "GET /debug/replicas/{key...}". Pattern is a
// net/http ServeMux pattern. A pattern whose path ends in "/{key...}" gets
// the same key handling as /kv/: r.PathValue("key") is the percent-decoded
// key, whatever slashes, "." or ".." segments it holds (ServeMux would
// otherwise redirect such paths to a cleaned, different key); KeyFromRequest
// validates it.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Config configures NewHandler.
type Config struct {
	KV KV // required

	// MaxValueBytes bounds a PUT body; 0 means DefaultMaxValueBytes.
	MaxValueBytes int64
	// MaxInflightBytes bounds the bytes of PUT bodies held at once (see
	// inflight.go): a PUT past it waits up to its timeout for room, then
	// gets 503 overloaded. 0 means DefaultMaxInflightBytes; negative, no
	// bound. It must be at least MaxValueBytes.
	MaxInflightBytes int64
	// DefaultTimeout is the coordinator wait for requests that name no
	// timeout; 0 leaves it to the coordinator's own default.
	DefaultTimeout time.Duration
	// MaxTimeout bounds the timeout a request may ask for; a larger one is a
	// 400. 0 means DefaultMaxTimeout.
	MaxTimeout time.Duration

	// Routes are served alongside /kv/, /healthz and /metrics, with the
	// same metrics, panic recovery and JSON 404/405 answers.
	Routes []Route

	// Registerer receives the HTTP metrics and Gatherer is what /metrics
	// serves. Both nil: a private registry. Registerer alone: it must also
	// be a Gatherer (as *prometheus.Registry is). The global registry is
	// never used implicitly.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer

	Logger *slog.Logger // nil: slog.Default()

	// Health, if set, is asked by GET /healthz: an error answers 503 with
	// it (the node's storage failed, say) instead of 200.
	Health func() error

	// Authorize, if set, is asked for the bearer token of every request
	// but GET /healthz and GET /metrics (which reveal no key or value):
	// a request without a token it accepts is answered 401 (see auth.go).
	// Nil: no token is asked for.
	Authorize func(token string) bool

	// TracerProvider records a span per request; nil: no tracing.
	TracerProvider trace.TracerProvider
}

// withDefaults checks cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.KV == nil {
		return cfg, errors.New("api: Config.KV is required")
	}
	if cfg.KV.N() < 1 {
		return cfg, fmt.Errorf("api: KV.N() is %d, want at least 1", cfg.KV.N())
	}
	if cfg.MaxValueBytes == 0 {
		cfg.MaxValueBytes = DefaultMaxValueBytes
	}
	if cfg.MaxTimeout == 0 {
		cfg.MaxTimeout = DefaultMaxTimeout
	}
	if cfg.MaxInflightBytes == 0 {
		cfg.MaxInflightBytes = max(DefaultMaxInflightBytes, cfg.MaxValueBytes)
	}
	switch {
	case cfg.MaxValueBytes < 0:
		return cfg, fmt.Errorf("api: Config.MaxValueBytes is %d, want a positive size", cfg.MaxValueBytes)
	case cfg.MaxInflightBytes > 0 && cfg.MaxInflightBytes < cfg.MaxValueBytes:
		return cfg, fmt.Errorf("api: Config.MaxInflightBytes %d is below MaxValueBytes %d: a value of the largest size could never be taken", cfg.MaxInflightBytes, cfg.MaxValueBytes)
	case cfg.MaxTimeout < 0 || cfg.DefaultTimeout < 0:
		return cfg, errors.New("api: Config timeouts must not be negative")
	case cfg.DefaultTimeout > cfg.MaxTimeout:
		return cfg, fmt.Errorf("api: Config.DefaultTimeout %v is above MaxTimeout %v", cfg.DefaultTimeout, cfg.MaxTimeout)
	}
	for i, rt := range cfg.Routes {
		if rt.Pattern == "" || rt.Handler == nil {
			return cfg, fmt.Errorf("api: Config.Routes[%d] needs a Pattern and a Handler", i)
		}
	}
	if cfg.Registerer == nil && cfg.Gatherer == nil {
		reg := prometheus.NewRegistry()
		cfg.Registerer, cfg.Gatherer = reg, reg
	}
	if cfg.Gatherer == nil {
		g, ok := cfg.Registerer.(prometheus.Gatherer)
		if !ok {
			return cfg, errors.New("api: Config.Gatherer is required when Registerer is not also a Gatherer")
		}
		cfg.Gatherer = g
	}
	if cfg.Registerer == nil {
		return cfg, errors.New("api: Config.Registerer is required when Gatherer is set")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
