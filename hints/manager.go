package hints

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync"

	"dynakv/storage"
	"dynakv/versioning"
)

// Manager holds this node's hints and delivers them. It is safe for
// concurrent use.
type Manager struct {
	cfg  Config
	self string // this node's id: never a target
	log  *slog.Logger
	met  *metrics

	ctx    context.Context // cancelled by Close; every worker runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per running worker

	mu      sync.Mutex
	queues  map[string]*queue // by target
	started bool
	closed  bool
	seeds   *rand.Rand // seeds each worker's jitter source
}

// New returns a Manager over cfg.Store's hint queues. It reads every queue
// once to learn its size (for Pending, the cap and the gauges); delivery
// starts with Start.
func New(cfg Config) (*Manager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	met, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	self := cfg.Store.Identity().NodeID
	h := fnv.New64a()
	h.Write([]byte(self))
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg:    cfg,
		self:   self,
		log:    cfg.Logger.With("component", "hints"),
		met:    met,
		ctx:    ctx,
		cancel: cancel,
		queues: make(map[string]*queue),
		seeds:  rand.New(rand.NewPCG(uint64(cfg.Now().UnixNano()), h.Sum64())),
	}
	if err := m.loadQueues(); err != nil {
		cancel()
		return nil, err
	}
	return m, nil
}

// loadQueues sizes every queue found in storage.
func (m *Manager) loadQueues() error {
	targets, err := m.cfg.Store.HintTargets()
	if err != nil {
		return fmt.Errorf("hints: find pending queues: %w", err)
	}
	for _, target := range targets {
		q := m.queue(target)
		err := m.cfg.Store.ScanHints(target, 0, func(_ uint64, rec []byte) error {
			q.count++
			q.bytes += int64(len(rec))
			return nil
		})
		if err != nil {
			return fmt.Errorf("hints: size the queue for %s: %w", target, err)
		}
		m.setGauges(q)
		m.log.Info("pending hints found", "target", target, "hints", q.count, "bytes", q.bytes)
	}
	return nil
}

// Store durably records state as a hint for target: when it returns nil the
// hint survives a crash (with storage's Sync option, as data writes do) and
// the fallback may ack the write. It fails with ErrOverCap when target's
// queue is full, ErrSelfTarget for this node, ErrClosed after Close, or a
// storage error; in every such case nothing was stored.
func (m *Manager) Store(target string, partition uint32, key []byte, state *versioning.Set) error {
	switch {
	case target == m.self:
		return fmt.Errorf("hints: store hint for %q: %w", key, ErrSelfTarget)
	case target == "" || len(target) > storage.MaxHintTarget:
		return fmt.Errorf("hints: store hint for %q: target node id %q is empty or too long", key, target)
	}
	rec := appendRecord(nil, partition, key, m.cfg.Now().UnixMicro(), state)
	if err := m.reserve(target, int64(len(rec))); err != nil {
		return fmt.Errorf("hints: store hint for %s of %q: %w", target, key, err)
	}
	seq, err := m.cfg.Store.PutHint(target, rec)
	if err != nil {
		m.settle(target, 1, int64(len(rec)))
		return fmt.Errorf("hints: store hint for %s of %q: %w", target, key, err)
	}
	m.met.stored.WithLabelValues(target).Inc()
	m.kick(target, seq)
	return nil
}

// Start starts delivery: a worker for every target with pending hints, and
// from then on for every target Store adds hints for. Later calls do
// nothing.
func (m *Manager) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.closed {
		return
	}
	m.started = true
	for target, q := range m.queues {
		if q.count > 0 {
			m.startWorker(target, q)
		}
	}
}

// TargetAlive tells the Manager that gossip saw node id come back: its
// worker stops waiting (and resets its backoff) and checks Liveness now.
func (m *Manager) TargetAlive(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if q, ok := m.queues[id]; ok && q.worker != nil {
		signal(q.worker.revive)
	}
}

// Notify is TargetAlive for every target: call it on any membership change
// when the changed node is not known.
func (m *Manager) Notify() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range m.queues {
		if q.worker != nil {
			signal(q.worker.revive)
		}
	}
}

// startWorker starts target's worker, resuming after q.cursor. Called with
// mu held, after Start and before Close.
func (m *Manager) startWorker(target string, q *queue) {
	w := newWorker(m, target, q.cursor, rand.New(rand.NewPCG(m.seeds.Uint64(), m.seeds.Uint64())))
	q.worker = w
	m.wg.Add(1)
	go w.run()
}

// Close stops delivery and returns once every worker has stopped. A
// delivery in flight is abandoned (its context cancelled); an unacked hint
// stays stored and is delivered after the next Start. Store fails with
// ErrClosed afterwards. Close the storage.Store only after Close returned.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// signal wakes the receiver of c (capacity 1) without blocking; a wake-up
// already pending covers this one.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
