package antientropy

import (
	"errors"
	"fmt"
	"time"

	"dynakv/merkle"
	"dynakv/versioning"
)

// scanChunk is how many keys a scan takes from the scan limiter at a time.
const scanChunk = 64

// rebuildRetry is how long a partition whose rebuild failed waits before
// the next attempt.
const rebuildRetry = time.Minute

// runBuilder rebuilds the queued trees one at a time until Close.
func (m *Manager) runBuilder() {
	defer m.wg.Done()
	for {
		p, ok := m.popRebuild()
		if !ok {
			select {
			case <-m.ctx.Done():
				return
			case <-m.wakeBuilder:
			}
			continue
		}
		err := m.rebuild(p)
		if m.ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		if err != nil {
			m.sched[p].nextRebuild = m.cfg.Now().Add(rebuildRetry)
		} else if m.cfg.RebuildInterval > 0 {
			m.sched[p].nextRebuild = m.cfg.Now().Add(m.jitter(m.cfg.RebuildInterval))
		} else {
			m.sched[p].nextRebuild = time.Time{}
		}
		m.mu.Unlock()
		if err != nil {
			m.log.Warn("rebuilding a hash tree failed; retrying later", "partition", p, "retry_in", rebuildRetry, "err", err)
		}
		wake(m.wakeExchanger) // on-demand work may have waited for this tree
	}
}

// popRebuild takes the next partition off the rebuild queue.
func (m *Manager) popRebuild() (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rebuilds) == 0 {
		return 0, false
	}
	p := m.rebuilds[0]
	m.rebuilds = m.rebuilds[1:]
	delete(m.queued, p)
	return p, true
}

// queueRebuild queues p for a rebuild unless it is queued already. Call
// with mu held.
func (m *Manager) queueRebuild(p uint32) {
	if m.queued[p] {
		return
	}
	m.queued[p] = true
	m.rebuilds = append(m.rebuilds, p)
	wake(m.wakeBuilder)
}

// rebuild builds the tree of p from a scan of storage, throttled by the
// scan limiter, while the old tree (if any) keeps serving, and installs it.
// A partition this node stopped being a primary of meanwhile is left alone.
func (m *Manager) rebuild(p uint32) error {
	start := time.Now()
	b, err := m.trees.startBuild(p) // before the scan's snapshot: see startBuild
	if errors.Is(err, errBuildSuperseded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rebuild tree of partition %d: %w", p, err)
	}
	var keys, corrupt int
	err = m.cfg.Store.ScanPartition(p, func(key, value []byte) error {
		if keys%scanChunk == 0 {
			if err := m.scan.wait(m.ctx, scanChunk); err != nil {
				return err
			}
		}
		keys++
		set, err := versioning.DecodeSet(value)
		if err != nil {
			// Left out of the tree, and of listings: an exchange then
			// brings the peer's copy, and merging it repairs the key.
			corrupt++
			return m.trees.buildInsert(p, b, key, merkle.Absent, 0)
		}
		return m.trees.buildInsert(p, b, key, merkle.VersionHash(set), isTombstone(set))
	})
	if err == nil {
		err = m.trees.finishBuild(p, b, m.cfg.Now())
	} else {
		m.trees.abandonBuild(p, b)
	}
	if errors.Is(err, errBuildSuperseded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rebuild tree of partition %d: %w", p, err)
	}
	if corrupt > 0 {
		m.log.Warn("keys with undecodable states left out of the hash tree; anti-entropy will fetch them from a peer", "partition", p, "keys", corrupt)
	}
	m.metrics.rebuilds.Inc()
	m.metrics.rebuildSeconds.Observe(time.Since(start).Seconds())
	m.mu.Lock()
	m.totals.rebuilds++
	m.mu.Unlock()
	m.log.Debug("hash tree built", "partition", p, "keys", keys, "took", time.Since(start))
	return nil
}
