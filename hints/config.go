package hints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/storage"
	"dynakv/versioning"
)

// Replicator delivers a hint: it merges state into target's copy of key and
// returns nil only once the target stored it durably. replica.Transport
// satisfies it. It must be safe for concurrent use and honour ctx.
type Replicator interface {
	Replicate(ctx context.Context, node string, partition uint32, key []byte, state *versioning.Set) error
}

// Liveness tells whether a node is believed reachable (gossip's view).
// replica.Liveness satisfies it.
type Liveness interface {
	Alive(nodeID string) bool
}

// Rerouter sends the hints of a target that will never come back to the
// nodes that hold its keys now. The node wiring implements it over the
// ring; hints only asks.
type Rerouter interface {
	// Departed reports whether target's hints must no longer wait for it:
	// it left the ring (leave or remove), or this node is leaving and
	// cannot wait.
	Departed(target string) bool
	// Owners returns the nodes a departed target's hint of partition goes
	// to instead: the partition's primaries now.
	Owners(partition uint32) []string
}

// Config configures a Manager. Start from DefaultConfig.
type Config struct {
	// Store holds the hint queues (namespace 'h'); required. It must stay
	// open until Manager.Close has returned.
	Store *storage.Store
	// Transport delivers hints; required.
	Transport Replicator
	// Liveness gates delivery: a worker sends nothing while its target is
	// reported down; required.
	Liveness Liveness
	// Reroute, if set, redirects the hints of departed targets to the
	// partition's owners (each alive owner must ack, at least one), so a
	// write acknowledged through a hint survives its target's removal.
	// nil: hints wait for their target until they expire.
	Reroute Rerouter

	// Window is the age (since Store) past which a hint is dropped instead
	// of delivered. 0 keeps hints forever.
	Window time.Duration
	// MaxPendingBytes caps one target's queue (encoded hint bytes); a hint
	// that would exceed it is refused with ErrOverCap. 0: no cap.
	MaxPendingBytes int64
	// DeliveryRate is the most Replicate calls per second to one target
	// (consecutive hints for one key make one call). 0: unlimited.
	DeliveryRate float64
	// DeliveryBurst is the token bucket's size: calls that may go at once
	// after an idle spell. 0: a tenth of a second's worth, at least 1.
	DeliveryBurst int
	// BatchSize is how many hints a worker reads per storage scan, and
	// deletes per batch. 0: 256.
	BatchSize int
	// BackoffMin and BackoffMax bound the wait after a failed delivery: it
	// starts at BackoffMin, doubles per failure up to BackoffMax, and each
	// wait is drawn uniformly from [d/2, d] (jitter). 0: 100ms and 30s.
	BackoffMin, BackoffMax time.Duration
	// PollInterval is how often a worker whose target is down asks
	// Liveness again, so delivery never depends on TargetAlive alone; it
	// also drops that target's expired hints. 0: 1s.
	PollInterval time.Duration
	// ReplicateTimeout bounds one Replicate call. 0: 10s.
	ReplicateTimeout time.Duration

	// Now is the wall clock for hint ages and the rate limiter. nil:
	// time.Now.
	Now func() time.Time
	// Logger receives the package's logs. nil: slog.Default().
	Logger *slog.Logger
	// Registerer takes the metrics. nil: a private registry (counted, not
	// exported).
	Registerer prometheus.Registerer
}

// Defaults applied by New to zero fields, and used by DefaultConfig.
const (
	DefaultWindow           = 3 * time.Hour
	DefaultMaxPendingBytes  = 512 << 20
	DefaultDeliveryRate     = 2000
	DefaultBatchSize        = 256
	DefaultBackoffMin       = 100 * time.Millisecond
	DefaultBackoffMax       = 30 * time.Second
	DefaultPollInterval     = time.Second
	DefaultReplicateTimeout = 10 * time.Second
)

// DefaultConfig returns the settings a production node uses; the caller
// fills in Store, Transport, Liveness, Logger and Registerer.
func DefaultConfig() Config {
	return Config{
		Window:           DefaultWindow,
		MaxPendingBytes:  DefaultMaxPendingBytes,
		DeliveryRate:     DefaultDeliveryRate,
		BatchSize:        DefaultBatchSize,
		BackoffMin:       DefaultBackoffMin,
		BackoffMax:       DefaultBackoffMax,
		PollInterval:     DefaultPollInterval,
		ReplicateTimeout: DefaultReplicateTimeout,
	}
}

// validate rejects a config New cannot run with.
func (c Config) validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("nil Store"))
	}
	if c.Transport == nil {
		errs = append(errs, errors.New("nil Transport"))
	}
	if c.Liveness == nil {
		errs = append(errs, errors.New("nil Liveness"))
	}
	if c.Window < 0 || c.MaxPendingBytes < 0 || c.DeliveryBurst < 0 || c.BatchSize < 0 ||
		c.BackoffMin < 0 || c.BackoffMax < 0 || c.PollInterval < 0 || c.ReplicateTimeout < 0 {
		errs = append(errs, errors.New("a duration, size or count is negative"))
	}
	if c.DeliveryRate < 0 || math.IsNaN(c.DeliveryRate) || math.IsInf(c.DeliveryRate, 0) {
		errs = append(errs, fmt.Errorf("DeliveryRate %v is not a finite rate >= 0", c.DeliveryRate))
	}
	if c.BackoffMin > 0 && c.BackoffMax > 0 && c.BackoffMin > c.BackoffMax {
		errs = append(errs, fmt.Errorf("BackoffMin %v > BackoffMax %v", c.BackoffMin, c.BackoffMax))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("hints: invalid config: %w", err)
	}
	return nil
}

// withDefaults fills the zero fields that have a default. Window,
// MaxPendingBytes and DeliveryRate keep 0 (off).
func (c Config) withDefaults() Config {
	if c.DeliveryBurst == 0 {
		c.DeliveryBurst = max(1, int(math.Ceil(c.DeliveryRate/10)))
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = DefaultBackoffMin
		if c.BackoffMax > 0 {
			c.BackoffMin = min(c.BackoffMin, c.BackoffMax)
		}
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffMin)
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.ReplicateTimeout == 0 {
		c.ReplicateTimeout = DefaultReplicateTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	return c
}
