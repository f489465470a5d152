package antientropy

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"dynakv/merkle"
)

// ErrClosed is returned by a Manager's calls after Close.
var ErrClosed = errors.New("antientropy: closed")

// Manager runs anti-entropy for one node: it builds the trees of the
// partitions the node is a primary of, exchanges them with the other
// primaries on schedule and on demand, reaps tombstones, and answers
// peers' anti-entropy calls (it is the node's replica.AntiEntropyPeer).
//
// It owns two goroutines, started by Start and stopped by Close: the
// builder, which rebuilds one tree at a time, and the exchanger, which
// follows the ring, runs one exchange at a time (on-demand ones first) and
// reaps tombstones.
type Manager struct {
	cfg     Config
	trees   *Trees
	shape   merkle.Shape
	log     *slog.Logger
	metrics *metrics
	keys    *limiter // keys exchanged or reaped
	scan    *limiter // keys read by scans

	ctx       context.Context // ends at Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once

	wakeBuilder   chan struct{} // buffered: a pending wake is never lost
	wakeExchanger chan struct{}

	mu       sync.Mutex // guards everything below
	closed   bool
	sched    []schedule      // by partition
	rebuilds []uint32        // partitions waiting for a build, in queue order
	queued   map[uint32]bool // the members of rebuilds
	demand   []job           // on-demand work, in the order asked
	runs     []*run          // the latest repair runs, oldest first
	lastRun  uint64          // id of the latest run
	totals   totals
	rng      *rand.Rand
}

// schedule is the exchanger's bookkeeping of one partition.
type schedule struct {
	ownedSince   time.Time      // when this node became its primary
	nextExchange time.Time      // zero: not scheduled (exchanges on demand only)
	nextRebuild  time.Time      // zero: not scheduled
	last         exchangeResult // the latest exchange, whatever its outcome
	lastDone     time.Time      // when an exchange last completed (equal or repaired)
}

// totals are the counts Status reports since the Manager started.
type totals struct {
	exchanges, failed, keysRepaired, reaped, rebuilds uint64
}

// New returns a Manager for cfg. It starts nothing: serve it to peers, then
// call Start.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:           cfg,
		trees:         cfg.Trees,
		shape:         cfg.Trees.Shape(),
		log:           cfg.Logger.With("component", "antientropy"),
		keys:          newLimiter(cfg.Rate, cfg.Now),
		scan:          newLimiter(cfg.ScanRate, cfg.Now),
		wakeBuilder:   make(chan struct{}, 1),
		wakeExchanger: make(chan struct{}, 1),
		sched:         make([]schedule, len(cfg.Trees.parts)),
		queued:        make(map[uint32]bool),
		rng:           rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if m.metrics, err = newMetrics(cfg.Registerer, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Start starts the builder and the exchanger. The first thing the
// exchanger does is find the partitions this node is a primary of and
// queue their trees for building.
func (m *Manager) Start() {
	m.startOnce.Do(func() {
		m.mu.Lock()
		closed := m.closed
		m.mu.Unlock()
		if closed {
			return
		}
		m.wg.Add(2)
		go m.runBuilder()
		go m.runExchanger()
	})
}

// Close stops the goroutines, interrupting the exchange or rebuild that
// runs, and waits for them. Storage must stay open until it returns.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		m.cancel()
		m.wg.Wait()
	})
}

// wake signals a goroutine without blocking; a signal already pending is
// enough.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// jitter returns d scaled by a random factor in [0.75, 1.25). Call with mu
// held.
func (m *Manager) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + 0.5*m.rng.Float64()))
}
