package antientropy

import (
	"slices"
	"time"
)

// job is one partition to exchange: on demand (run set) or on schedule.
type job struct {
	p         uint32
	run       *run      // nil: a scheduled exchange
	attempts  int       // of an on-demand job: tries so far
	notBefore time.Time // of an on-demand job being retried
}

// runExchanger follows the ring and runs due work, one job at a time,
// on-demand jobs first, until Close. It wakes every Tick, and at once when
// a repair is asked for or a tree is built.
func (m *Manager) runExchanger() {
	defer m.wg.Done()
	tick := time.NewTimer(0)
	defer tick.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.wakeExchanger:
		case <-tick.C:
		}
		m.reconcile()
		for m.ctx.Err() == nil {
			j, ok := m.nextJob()
			if !ok {
				break
			}
			m.runJob(j)
		}
		tick.Reset(m.cfg.Tick)
	}
}

// reconcile tracks the partitions this node is a primary of now: a new one
// gets a schedule and a tree to build, one it lost is dropped, and a tree
// due for its periodic rebuild is queued.
func (m *Manager) reconcile() {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.sched {
		p := uint32(i)
		s := &m.sched[i]
		if !slices.Contains(m.cfg.Placement.Primaries(p), m.cfg.Self) {
			if m.trees.disown(p) {
				*s = schedule{}
				m.log.Debug("no longer a primary; dropped the partition's tree", "partition", p)
			}
			continue
		}
		if m.trees.own(p) {
			*s = schedule{ownedSince: now}
			if m.cfg.Interval > 0 {
				// Spread the first exchanges over one interval.
				s.nextExchange = now.Add(time.Duration(m.rng.Int64N(int64(m.cfg.Interval))))
			}
			m.queueRebuild(p)
			continue
		}
		if !s.nextRebuild.IsZero() && !now.Before(s.nextRebuild) {
			s.nextRebuild = time.Time{}
			m.queueRebuild(p)
		}
	}
}

// nextJob takes the next job due: the first on-demand job whose tree is
// built and whose retry time has come, else the most overdue scheduled
// partition with a built tree.
func (m *Manager) nextJob() (job, bool) {
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	// picked is a copy, not a pointer into the loop: a pointer would move
	// every iteration's variable to the heap, and this loop runs over
	// every queued partition for each job a repair round takes.
	var picked job
	found := false
	kept := m.demand[:0]
	for _, j := range m.demand {
		info := m.trees.info(j.p)
		switch {
		case !info.owned:
			j.run.partitionDone(true, 0, now) // no longer this node's to repair
		case !found && info.built && !now.Before(j.notBefore):
			picked, found = j, true
		default:
			kept = append(kept, j)
		}
	}
	m.demand = kept
	if found {
		return picked, true
	}
	if m.cfg.Interval <= 0 {
		return job{}, false
	}
	best := -1
	for i := range m.sched {
		s := &m.sched[i]
		if s.nextExchange.IsZero() || now.Before(s.nextExchange) || !m.trees.info(uint32(i)).built {
			continue
		}
		if best < 0 || s.nextExchange.Before(m.sched[best].nextExchange) {
			best = i
		}
	}
	if best < 0 {
		return job{}, false
	}
	m.sched[best].nextExchange = now.Add(m.jitter(m.cfg.Interval))
	return job{p: uint32(best)}, true
}

// runJob runs one job. A scheduled job exchanges with one live primary
// picked at random (over time, every pair of primaries meets); an
// on-demand job exchanges with every live primary. Either then reaps the
// partition's tombstones, if this node is its first primary.
func (m *Manager) runJob(j job) {
	peers := m.livePeers(j.p)
	if j.run == nil {
		if len(peers) == 0 {
			return
		}
		m.mu.Lock()
		peer := peers[m.rng.IntN(len(peers))]
		m.mu.Unlock()
		if res := m.exchange(m.ctx, j.p, peer); res.Outcome != outcomeFailed {
			m.reapPartition(j.p)
		}
		return
	}

	// On demand. Exchanging with every other primary in turn leaves the
	// earlier ones without what the later ones brought, so those before
	// the last exchange that repaired anything get a second exchange.
	keys, failed, lastRepair := 0, false, 0
	for i, peer := range peers {
		res := m.exchange(m.ctx, j.p, peer)
		keys += res.Keys
		failed = failed || res.Outcome == outcomeFailed
		if res.Keys > 0 {
			lastRepair = i
		}
	}
	for _, peer := range peers[:lastRepair] {
		res := m.exchange(m.ctx, j.p, peer)
		keys += res.Keys
		failed = failed || res.Outcome == outcomeFailed
	}
	if m.ctx.Err() != nil {
		return
	}
	if !failed {
		m.reapPartition(j.p)
	}
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	j.run.keys += keys
	j.attempts++
	if failed && j.attempts < m.cfg.RepairAttempts {
		// A peer's tree may still be building: try again a little later.
		j.notBefore = now.Add(time.Duration(j.attempts) * m.cfg.Tick)
		m.demand = append(m.demand, j)
		return
	}
	j.run.partitionDone(!failed, 0, now)
}

// livePeers returns the other primaries of p that gossip sees alive.
func (m *Manager) livePeers(p uint32) []string {
	var out []string
	for _, id := range m.cfg.Placement.Primaries(p) {
		if id != m.cfg.Self && m.cfg.Liveness.Alive(id) {
			out = append(out, id)
		}
	}
	return out
}

// reapPartition reaps p's tombstones, logging what it did.
func (m *Manager) reapPartition(p uint32) {
	n, err := m.reap(m.ctx, p)
	if err != nil && m.ctx.Err() == nil {
		m.log.Debug("reaping tombstones stopped; trying again after the next exchange", "partition", p, "reaped", n, "err", err)
	} else if n > 0 {
		m.log.Debug("reaped tombstones", "partition", p, "keys", n)
	}
}
