package hints

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"

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

// queue is the in-memory account of one target's hint queue. Guarded by
// Manager.mu.
type queue struct {
	target  string // the target node id
	count   int
	bytes   int64
	refused int     // hints refused over cap since the queue last had room
	worker  *worker // nil when no worker runs for the target

	// cursor and lowest let workers resume instead of rescanning the queue
	// (and the tombstones of delivered hints) from its start. Every hint
	// with a sequence up to cursor was handled, except those Stored since
	// with a sequence as low as lowest: concurrent Stores can make a lower
	// sequence visible after a higher one was delivered.
	cursor uint64
	lowest uint64 // the lowest sequence Stored since a worker last looked; MaxUint64: none
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
	if target == m.self {
		return fmt.Errorf("hints: store hint for %q: %w", key, ErrSelfTarget)
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

// reserve counts a hint of size bytes into target's queue before it is
// written, so that concurrent Stores cannot overshoot the cap together.
func (m *Manager) reserve(target string, size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	q := m.queue(target)
	if limit := m.cfg.MaxPendingBytes; limit > 0 && q.bytes+size > limit {
		if q.refused == 0 {
			m.log.Warn("hint queue full: refusing hints for the target; anti-entropy will repair it",
				"target", target, "pending_bytes", q.bytes, "max_pending_bytes", limit)
		}
		q.refused++
		m.met.dropped.WithLabelValues(target, reasonOverCap).Inc()
		return ErrOverCap
	}
	if q.refused > 0 {
		m.log.Info("hint queue has room again", "target", target, "refused", q.refused)
		q.refused = 0
	}
	q.count++
	q.bytes += size
	m.setGauges(q)
	return nil
}

// settle takes n hints of size bytes in all out of target's queue: they were
// delivered, dropped, or never written.
func (m *Manager) settle(target string, n int, size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue(target)
	q.count = max(0, q.count-n)
	q.bytes = max(0, q.bytes-size)
	m.setGauges(q)
}

// queue returns target's account, creating it. Called with mu held.
func (m *Manager) queue(target string) *queue {
	q, ok := m.queues[target]
	if !ok {
		q = &queue{target: target, lowest: math.MaxUint64}
		m.queues[target] = q
	}
	return q
}

func (m *Manager) setGauges(q *queue) {
	m.met.pending.WithLabelValues(q.target).Set(float64(q.count))
	m.met.pendingBytes.WithLabelValues(q.target).Set(float64(q.bytes))
}

// Pending returns how many hints for target are waiting, and their encoded
// size. Hints being stored are counted; delivered ones leave the count once
// deleted.
func (m *Manager) Pending(target string) (count int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if q, ok := m.queues[target]; ok {
		return q.count, q.bytes
	}
	return 0, 0
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

// kick makes sure target's new hint seq will be delivered: it records seq
// for the worker's next idle check and wakes the running worker, or starts
// one.
func (m *Manager) kick(target string, seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue(target)
	q.lowest = min(q.lowest, seq)
	if !m.started || m.closed {
		return
	}
	if q.worker != nil {
		signal(q.worker.more)
		return
	}
	m.startWorker(target, q)
}

// startWorker starts target's worker, resuming after q.cursor. Called with
// mu held, after Start and before Close.
func (m *Manager) startWorker(target string, q *queue) {
	w := newWorker(m, target, q.cursor, rand.New(rand.NewPCG(m.seeds.Uint64(), m.seeds.Uint64())))
	q.worker = w
	m.wg.Add(1)
	go w.run()
}

// idle is called by w when a scan after cursor found nothing. It returns
// where to scan next, or done: then w is unregistered and must exit.
//
// Store records its sequence and signals under mu once its hint is written,
// so every hint is caught by one of: a rewind (a sequence at or below
// cursor was Stored), a rescan after cursor (the more signal: a Store landed
// above cursor, maybe after the scan), or a new worker (the Store found none
// registered, because idle ran first).
func (m *Manager) idle(w *worker, cursor uint64) (next uint64, done bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue(w.target)
	low := q.lowest
	q.lowest = math.MaxUint64
	stored := false
	select {
	case <-w.more:
		stored = true
	default:
	}
	switch {
	case m.closed:
	case low <= cursor:
		return low - 1, false
	case stored:
		return cursor, false
	}
	q.cursor = cursor
	q.worker = nil
	return cursor, true
}

// exit unregisters w after Close stopped it mid-pass. The Manager never
// starts workers again; a new one, after a restart, scans from the start.
func (m *Manager) exit(w *worker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue(w.target).worker = nil
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
