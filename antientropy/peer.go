package antientropy

import (
	"context"
	"fmt"

	"dynakv/merkle"
	"dynakv/replica"
)

// The peer side: what the Manager answers when another node runs an
// exchange or a reap with this one (replica.PeerService.AntiEntropy).

var _ replica.AntiEntropyPeer = (*Manager)(nil)

// TreeHashes answers one level of a tree walk from this node's tree of
// partition; a tree not built yet is an error the initiator skips.
func (m *Manager) TreeHashes(_ context.Context, partition uint32, req merkle.Request) (merkle.Response, error) {
	if err := m.ctx.Err(); err != nil {
		return merkle.Response{}, ErrClosed
	}
	resp, err := m.trees.answer(partition, req)
	if err != nil {
		return merkle.Response{}, fmt.Errorf("answer tree hashes: %w", err)
	}
	m.metrics.traffic(resp.Size(), req.Size())
	return resp, nil
}

// TreeListing lists this node's keys and versions in buckets of
// partition, from storage.
func (m *Manager) TreeListing(ctx context.Context, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error) {
	if err := m.ctx.Err(); err != nil {
		return nil, ErrClosed
	}
	if shape != m.shape {
		return nil, fmt.Errorf("list buckets of partition %d: %w: asked for shape %s, this node's trees are %s", partition, merkle.ErrIncompatible, shape, m.shape)
	}
	if int(partition) >= len(m.sched) {
		return nil, fmt.Errorf("list buckets of partition %d: the ring has %d partitions", partition, len(m.sched))
	}
	l, err := m.listing(ctx, partition, buckets)
	if err != nil {
		return nil, err
	}
	ask := merkle.Listing{Shape: shape, Buckets: buckets}
	m.metrics.traffic(l.Size(), ask.Size())
	return l, nil
}

// ExchangeStates merges each sent state into this node's copy (an entry
// without a state is only read) and returns the key's state afterwards.
func (m *Manager) ExchangeStates(_ context.Context, entries []replica.KeyState) ([]replica.KeyState, error) {
	if err := m.ctx.Err(); err != nil {
		return nil, ErrClosed
	}
	out := make([]replica.KeyState, len(entries))
	err := forEach(len(entries), func(i int) error {
		e := entries[i]
		var err error
		out[i] = replica.KeyState{Partition: e.Partition, Key: e.Key}
		if e.State.IsEmpty() {
			out[i].State, err = m.cfg.Replica.Read(e.Partition, e.Key)
		} else {
			out[i].State, err = m.cfg.Replica.Merge(e.Partition, e.Key, e.State)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("exchange %d states: %w", len(entries), err)
	}
	m.metrics.traffic(batchSize(out), batchSize(entries))
	return out, nil
}

// ReapTombstones deletes each key whose stored state still equals the
// sent one, a state of tombstones only, and says which it deleted. The
// caller, the partition's first primary, has checked that every primary
// holds the state and that its grace period passed.
func (m *Manager) ReapTombstones(_ context.Context, entries []replica.KeyState) ([]bool, error) {
	if err := m.ctx.Err(); err != nil {
		return nil, ErrClosed
	}
	m.metrics.traffic(0, batchSize(entries))
	return m.reapLocal(entries)
}

// reapLocal deletes, in this node's storage, each key whose state still
// equals the entry's, and counts the deletes. While its partition's tree is
// being rebuilt a key is not deleted (reported false): it waits for a later
// reap.
func (m *Manager) reapLocal(entries []replica.KeyState) ([]bool, error) {
	reaped := make([]bool, len(entries))
	n := 0
	var err error
	for i, e := range entries {
		reaped[i], err = m.trees.withoutBuild(e.Partition, func() (bool, error) {
			return m.cfg.Replica.ReapIfUnchanged(e.Partition, e.Key, e.State)
		})
		if err != nil {
			err = fmt.Errorf("reap tombstones: %w", err)
			break
		}
		if reaped[i] {
			n++
		}
	}
	m.metrics.reaped.Add(float64(n))
	m.mu.Lock()
	m.totals.reaped += uint64(n)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return reaped, nil
}
