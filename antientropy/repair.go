package antientropy

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors of Repair.
var (
	// ErrNoPartition: the partition is out of the ring's range.
	ErrNoPartition = errors.New("no such partition")
	// ErrNotReplica: this node is not a primary of the partition, so it
	// keeps no tree for it; ask one of its primaries.
	ErrNotReplica = errors.New("this node is not a primary of the partition")
)

// maxRuns is how many repair runs Status remembers.
const maxRuns = 16

// run is one on-demand repair: its partitions are queued as jobs, and it
// ends when each was exchanged with every live primary or gave up. Guarded
// by Manager.mu.
type run struct {
	id                 uint64
	partitions         int
	done, failed, keys int
	started, finished  time.Time
}

// partitionDone counts one partition as finished.
func (r *run) partitionDone(ok bool, keys int, now time.Time) {
	if ok {
		r.done++
	} else {
		r.failed++
	}
	r.keys += keys
	if r.done+r.failed == r.partitions {
		r.finished = now
	}
}

// Repair schedules an exchange of each partition given (none: every
// partition this node is a primary of) with every other live primary,
// ahead of scheduled work, and returns at once; Status follows the run. A
// partition whose tree is still building waits for it, and one whose
// exchange fails (a peer's tree still building, a peer unreachable) is
// tried again up to Config.RepairAttempts times.
func (m *Manager) Repair(partitions ...uint32) (RunStatus, error) {
	var all []uint32
	for p := range uint32(len(m.sched)) {
		if slices.Contains(m.cfg.Placement.Primaries(p), m.cfg.Self) {
			all = append(all, p)
		}
	}
	for _, p := range partitions {
		if int(p) >= len(m.sched) {
			return RunStatus{}, fmt.Errorf("repair partition %d: %w: the ring has partitions 0 to %d", p, ErrNoPartition, len(m.sched)-1)
		}
		if !slices.Contains(all, p) {
			return RunStatus{}, fmt.Errorf("repair partition %d: %w (its primaries are %v)", p, ErrNotReplica, m.cfg.Placement.Primaries(p))
		}
	}
	if len(partitions) == 0 {
		partitions = all
	}
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return RunStatus{}, ErrClosed
	}
	m.lastRun++
	r := &run{id: m.lastRun, partitions: len(partitions), started: now}
	if r.partitions == 0 {
		r.finished = now
	}
	for _, p := range partitions {
		m.demand = append(m.demand, job{p: p, run: r})
	}
	m.runs = append(m.runs, r)
	if len(m.runs) > maxRuns {
		m.runs = slices.Delete(m.runs, 0, len(m.runs)-maxRuns)
	}
	wake(m.wakeExchanger)
	return r.status(), nil
}
