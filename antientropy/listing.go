package antientropy

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"dynakv/merkle"
	"dynakv/versioning"
)

// listing lists this node's keys of partition p in the given buckets, with
// their versions, from one scan of storage (throttled by the scan limiter),
// decoding only the states of keys in those buckets. It reads storage, not
// the tree, so a tree that drifted never hides or invents a key here.
func (m *Manager) listing(ctx context.Context, p uint32, buckets []int) (*merkle.Listing, error) {
	l := &merkle.Listing{Shape: m.shape, Buckets: buckets}
	n := 0
	err := m.cfg.Store.ScanPartition(p, func(key, value []byte) error {
		if n%scanChunk == 0 {
			if err := m.scan.wait(ctx, scanChunk); err != nil {
				return err
			}
		}
		n++
		if _, ok := slices.BinarySearch(buckets, m.shape.BucketOf(key)); !ok {
			return nil
		}
		set, err := versioning.DecodeSet(value)
		if err != nil {
			return nil // left out, as rebuild does: the peer's copy repairs it
		}
		if v := merkle.VersionHash(set); v != merkle.Absent {
			l.Entries = append(l.Entries, merkle.Entry{Key: bytes.Clone(key), Version: v})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %d buckets of partition %d: %w", len(buckets), p, err)
	}
	return l, nil
}
