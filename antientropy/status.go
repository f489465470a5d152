package antientropy

import "time"

// Status is a Manager's progress, for the status endpoint and the CLI.
type Status struct {
	Shape            string // of every tree, "fanout^depth"
	Partitions       int    // this node is a primary of
	TreesBuilt       int    // of those, with a built tree
	Rebuilding       int    // trees queued for or in a rebuild
	Exchanges        uint64 // exchanges this node ran since it started
	FailedExchanges  uint64 // of those, failed
	KeysRepaired     uint64 // keys those exchanges swapped
	TombstonesReaped uint64 // tombstones deleted from this node's storage
	TreeRebuilds     uint64 // trees built since the node started
	// OldestExchange is the age of the least recently exchanged partition's
	// last completed exchange (or of its ownership, if it never had one).
	OldestExchange time.Duration
	Runs           []RunStatus       // the latest on-demand repairs, oldest first
	PartitionList  []PartitionStatus // one per partition this node is a primary of
}

// RunStatus is the progress of one on-demand repair.
type RunStatus struct {
	ID           uint64
	Partitions   int // asked for
	Done         int // exchanged with every live primary
	Failed       int // gave up after Config.RepairAttempts
	KeysRepaired int
	Started      time.Time
	Finished     time.Time // zero while running
}

// PartitionStatus is one partition's tree and its last exchange.
type PartitionStatus struct {
	Partition  uint32
	TreeBuilt  bool
	Keys       int // in the tree
	Tombstones int // keys all of whose siblings are tombstones (approximate)
	BuiltAt    time.Time
	// The last exchange, whatever its outcome; LastPeer is empty if none.
	LastExchange     time.Time
	LastPeer         string
	LastResult       string // equal, repaired or failed
	LastKeysRepaired int
	LastBytes        int
	LastError        string
}

func (r *run) status() RunStatus {
	return RunStatus{ID: r.id, Partitions: r.partitions, Done: r.done, Failed: r.failed, KeysRepaired: r.keys, Started: r.started, Finished: r.finished}
}

// Status reports the Manager's progress.
func (m *Manager) Status() Status {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{
		Shape:            m.shape.String(),
		Rebuilding:       len(m.rebuilds),
		Exchanges:        m.totals.exchanges,
		FailedExchanges:  m.totals.failed,
		KeysRepaired:     m.totals.keysRepaired,
		TombstonesReaped: m.totals.reaped,
		TreeRebuilds:     m.totals.rebuilds,
		OldestExchange:   m.oldestExchangeAgeLocked(now),
	}
	for _, r := range m.runs {
		st.Runs = append(st.Runs, r.status())
	}
	for i := range m.sched {
		info := m.trees.info(uint32(i))
		if !info.owned {
			continue
		}
		st.Partitions++
		if info.built {
			st.TreesBuilt++
		}
		if info.building && !m.queued[uint32(i)] {
			st.Rebuilding++
		}
		last := m.sched[i].last
		st.PartitionList = append(st.PartitionList, PartitionStatus{
			Partition: uint32(i), TreeBuilt: info.built, Keys: info.keys, Tombstones: info.tombstones, BuiltAt: info.builtAt,
			LastExchange: last.At, LastPeer: last.Peer, LastResult: last.Outcome, LastKeysRepaired: last.Keys,
			LastBytes: last.Sent + last.Received, LastError: last.Err,
		})
	}
	return st
}

// treeCounts returns how many partitions this node is a primary of, and
// how many of their trees are built.
func (m *Manager) treeCounts() (owned, built int) {
	for i := range m.sched {
		info := m.trees.info(uint32(i))
		if info.owned {
			owned++
		}
		if info.built {
			built++
		}
	}
	return owned, built
}

// oldestExchangeAge is Status.OldestExchange.
func (m *Manager) oldestExchangeAge() time.Duration {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.oldestExchangeAgeLocked(now)
}

func (m *Manager) oldestExchangeAgeLocked(now time.Time) time.Duration {
	var oldest time.Duration
	for i := range m.sched {
		s := &m.sched[i]
		if s.ownedSince.IsZero() {
			continue
		}
		since := s.ownedSince
		if s.lastDone.After(since) {
			since = s.lastDone
		}
		oldest = max(oldest, now.Sub(since))
	}
	return oldest
}
