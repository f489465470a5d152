package antientropy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"dynakv/replica"
	"dynakv/versioning"
)

// maxReapCandidates bounds the tombstones one pass over a partition
// collects; the rest wait for the next pass.
const maxReapCandidates = 4096

// reap deletes the tombstones of partition p that every primary holds
// unchanged and whose newest tombstone is older than the grace period, on
// every primary, and returns how many this node deleted. Only p's first
// primary reaps (so no reap is done twice), and only while every primary
// is alive: the package doc says why both conditions keep a delete
// deleted.
func (m *Manager) reap(ctx context.Context, p uint32) (int, error) {
	primaries := m.cfg.Placement.Primaries(p)
	if len(primaries) == 0 || primaries[0] != m.cfg.Self || m.trees.info(p).tombstones <= 0 {
		return 0, nil
	}
	others := primaries[1:]
	for _, q := range others {
		if !m.cfg.Liveness.Alive(q) {
			return 0, nil // tombstones wait for every primary
		}
	}
	candidates, err := m.reapable(ctx, p)
	if err != nil {
		return 0, err
	}
	reaped := 0
	for batch := range slices.Chunk(candidates, m.cfg.BatchKeys) {
		if err := m.keys.wait(ctx, len(batch)); err != nil {
			return reaped, err
		}
		agreed, err := m.agreed(ctx, others, batch)
		if err != nil {
			return reaped, err
		}
		n, err := m.reapEverywhere(ctx, others, agreed)
		reaped += n
		if err != nil {
			return reaped, err
		}
	}
	return reaped, nil
}

// reapable scans p for keys whose every sibling is a tombstone, the newest
// older than the grace period.
func (m *Manager) reapable(ctx context.Context, p uint32) ([]replica.KeyState, error) {
	cutoff := m.cfg.Now().Add(-m.cfg.TombstoneGrace)
	var out []replica.KeyState
	n := 0
	err := m.cfg.Store.ScanPartition(p, func(key, value []byte) error {
		if n%scanChunk == 0 {
			if err := m.scan.wait(ctx, scanChunk); err != nil {
				return err
			}
		}
		n++
		set, err := versioning.DecodeSet(bytes.Clone(value)) // kept past the call: decode a copy
		if err != nil || !set.Deleted() || newestTombstone(set).After(cutoff) {
			return nil
		}
		out = append(out, replica.KeyState{Partition: p, Key: bytes.Clone(key), State: set})
		if len(out) == maxReapCandidates {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, fmt.Errorf("find tombstones to reap in partition %d: %w", p, err)
	}
	return out, nil
}

// errEnough stops a scan that collected all it needs.
var errEnough = errors.New("enough candidates")

// newestTombstone is when the newest write among s's siblings (all
// tombstones) was made, by its coordinator's clock.
func newestTombstone(s *versioning.Set) time.Time {
	var newest int64
	for i := range s.Siblings {
		newest = max(newest, s.Siblings[i].Modified())
	}
	return time.UnixMicro(newest)
}

// agreed returns the entries every other primary holds exactly, read from
// each of them: a primary that cannot be read blocks the whole batch.
func (m *Manager) agreed(ctx context.Context, others []string, batch []replica.KeyState) ([]replica.KeyState, error) {
	keep := make([]bool, len(batch))
	for i := range keep {
		keep[i] = true
	}
	reads := make([]replica.KeyState, len(batch))
	for i, e := range batch {
		reads[i] = replica.KeyState{Partition: e.Partition, Key: e.Key} // no state: read only
	}
	for _, q := range others {
		var theirs []replica.KeyState
		err := m.call(ctx, func(ctx context.Context) (err error) {
			theirs, err = m.cfg.Peers.ExchangeStates(ctx, q, reads)
			return err
		})
		m.metrics.traffic(batchSize(reads), batchSize(theirs))
		if err != nil {
			return nil, fmt.Errorf("read tombstones on %s: %w", q, err)
		}
		if len(theirs) != len(batch) {
			return nil, fmt.Errorf("read tombstones on %s: %d states answer %d keys", q, len(theirs), len(batch))
		}
		for i := range batch {
			keep[i] = keep[i] && theirs[i].State.Equal(batch[i].State)
		}
	}
	var out []replica.KeyState
	for i, e := range batch {
		if keep[i] {
			out = append(out, e)
		}
	}
	return out, nil
}

// reapEverywhere reaps the entries on the other primaries, then here, each
// with a conditional delete. If a primary cannot be reached this node keeps
// its tombstones, and the next exchange hands them back to the primaries
// that did delete them, to be reaped again later: a partial reap is safe.
func (m *Manager) reapEverywhere(ctx context.Context, others []string, entries []replica.KeyState) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	for _, q := range others {
		err := m.call(ctx, func(ctx context.Context) error {
			_, err := m.cfg.Peers.ReapTombstones(ctx, q, entries)
			return err
		})
		m.metrics.traffic(batchSize(entries), 0)
		if err != nil {
			return 0, fmt.Errorf("reap %d tombstones on %s: %w", len(entries), q, err)
		}
	}
	reaped, err := m.reapLocal(entries)
	n := 0
	for _, ok := range reaped {
		if ok {
			n++
		}
	}
	return n, err
}
