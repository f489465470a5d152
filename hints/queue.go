package hints

import "math"

// The Manager's side of each target's queue: its size (for Pending, the cap
// and the gauges), and the handshake between Store and the target's worker
// that guarantees every stored hint is seen by a worker.

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

// PendingTotal is Pending summed over every target.
func (m *Manager) PendingTotal() (count int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range m.queues {
		count += q.count
		bytes += q.bytes
	}
	return count, bytes
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
