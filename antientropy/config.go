package antientropy

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the zero Config fields that have one (DefaultConfig).
const (
	// DefaultInterval is how often each partition is compared with another
	// primary. With 1,024 partitions that is about 1.7 exchanges a second
	// per node, each a single round trip when nothing differs.
	DefaultInterval = 10 * time.Minute
	// DefaultRebuildInterval is how often a tree is rebuilt from storage,
	// healing any drift (Riak rebuilds weekly; a scan of a node's data a
	// day at DefaultScanRate is cheap).
	DefaultRebuildInterval = 24 * time.Hour
	// DefaultRate is the most keys a second exchanges move and reaps
	// delete: a node that lost a million keys is refilled in ~4 minutes.
	DefaultRate = 5000
	// DefaultScanRate is the most keys a second rebuilds, listings and
	// tombstone searches read from storage.
	DefaultScanRate = 250_000
	// DefaultTombstoneGrace is how long a tombstone is kept after its
	// delete at least. It must exceed the hint window (3h by default):
	// see the package doc.
	DefaultTombstoneGrace = 24 * time.Hour
	// DefaultBatchKeys is how many keys one ExchangeStates or
	// ReapTombstones call carries.
	DefaultBatchKeys = 256
	// DefaultCallTimeout bounds one call to a peer.
	DefaultCallTimeout = 30 * time.Second
	// DefaultTick is how often the scheduler looks for ring changes and
	// partitions due for an exchange or a rebuild.
	DefaultTick = time.Second
	// DefaultRepairAttempts is how often an on-demand repair of a partition
	// is tried before it counts as failed (a peer's tree may still be
	// building).
	DefaultRepairAttempts = 5
)

// Config configures a Manager. Start from DefaultConfig.
type Config struct {
	Self  string // this node's id
	Trees *Trees // required: the trees Local's OnChange keeps current

	Store     Scanner   // required: partition scans (storage.Store)
	Replica   Replica   // required: this node's copy (replica.Local)
	Peers     Peers     // required: the other nodes (replica.Transport)
	Placement Placement // required: a partition's primaries (the ring)
	Liveness  Liveness  // required: which nodes are up (gossip)

	// Interval is the time between two scheduled exchanges of a partition,
	// each drawn from [0.75, 1.25]×Interval. 0: exchanges only on demand.
	Interval time.Duration
	// RebuildInterval is the time between two rebuilds of a tree from
	// storage, jittered likewise. 0: trees are built only when the node
	// starts or becomes a primary of a partition.
	RebuildInterval time.Duration
	// Rate bounds the keys a second that exchanges send and reaps delete
	// (a token bucket, a tenth of a second's worth of burst). 0: no bound.
	Rate float64
	// ScanRate bounds the keys a second read by partition scans. 0: no
	// bound.
	ScanRate float64
	// TombstoneGrace is the least age of a tombstone before it is reaped;
	// see the package doc for why it must exceed the hint window.
	TombstoneGrace time.Duration
	// BatchKeys is the most keys one call carries. 0: DefaultBatchKeys.
	BatchKeys int
	// CallTimeout bounds one call to a peer. 0: DefaultCallTimeout.
	CallTimeout time.Duration
	// Tick is how often the scheduler wakes. 0: DefaultTick.
	Tick time.Duration
	// RepairAttempts is how often an on-demand repair tries a partition.
	// 0: DefaultRepairAttempts.
	RepairAttempts int

	// Now is the wall clock: tombstone ages, schedules, status times. nil:
	// time.Now.
	Now func() time.Time
	// Seed seeds the jitter and the choice of peers; 0: from the clock.
	Seed uint64
	// Logger receives the package's logs. nil: slog.Default().
	Logger *slog.Logger
	// Registerer takes the metrics. nil: a private registry.
	Registerer prometheus.Registerer
}

// DefaultConfig returns a Config with every tunable at its default; the
// caller sets Self, Trees and the dependencies.
func DefaultConfig() Config {
	return Config{
		Interval:        DefaultInterval,
		RebuildInterval: DefaultRebuildInterval,
		Rate:            DefaultRate,
		ScanRate:        DefaultScanRate,
		TombstoneGrace:  DefaultTombstoneGrace,
		BatchKeys:       DefaultBatchKeys,
		CallTimeout:     DefaultCallTimeout,
		Tick:            DefaultTick,
		RepairAttempts:  DefaultRepairAttempts,
	}
}

// withDefaults checks cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if cfg.Self == "" {
		errs = append(errs, errors.New("the node id (Self) is empty"))
	}
	if cfg.Trees == nil || cfg.Store == nil || cfg.Replica == nil || cfg.Peers == nil || cfg.Placement == nil || cfg.Liveness == nil {
		errs = append(errs, errors.New("Trees, Store, Replica, Peers, Placement and Liveness are required"))
	}
	if cfg.Interval < 0 || cfg.RebuildInterval < 0 || cfg.TombstoneGrace < 0 || cfg.CallTimeout < 0 || cfg.Tick < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if cfg.Rate < 0 || cfg.ScanRate < 0 || cfg.BatchKeys < 0 || cfg.RepairAttempts < 0 {
		errs = append(errs, fmt.Errorf("rates (%v, %v), BatchKeys %d and RepairAttempts %d must not be negative",
			cfg.Rate, cfg.ScanRate, cfg.BatchKeys, cfg.RepairAttempts))
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("antientropy: config: %w", err)
	}
	if cfg.BatchKeys == 0 {
		cfg.BatchKeys = DefaultBatchKeys
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.Tick == 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.RepairAttempts == 0 {
		cfg.RepairAttempts = DefaultRepairAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	return cfg, nil
}
