package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// ScanPartition calls fn for every key of partition, in key order, from one
// consistent snapshot (writes made during the scan are not seen). It stops
// at the first error from fn and returns it as is.
//
// key (the user key, without storage's prefix) and value are only valid
// during the call: they alias pebble's buffers. Copy them to keep them.
//
// The scan counts as an in-flight operation: Close waits for it.
func (s *Store) ScanPartition(partition uint32, fn func(key, value []byte) error) error {
	return s.ScanPartitionFrom(partition, nil, fn)
}

// ScanPartitionFrom is ScanPartition starting at the first key not below
// from (nil: the partition's first key). Transfers scan a partition in
// chunks with it: each chunk starts after the last key of the one before,
// so no iterator stays open while a chunk travels.
func (s *Store) ScanPartitionFrom(partition uint32, from []byte, fn func(key, value []byte) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.gate.exit()

	// Bounds confine the iterator to the partition's prefix, so neither
	// other partitions nor other namespaces can leak in, and pebble skips
	// sstables outside the range.
	lower, upper := partitionBounds(partition)
	if from != nil {
		lower = appendDataKey(nil, partition, from)
	}
	iter, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("storage: scan partition %d: %w", partition, err)
	}
	var fnErr error
	for valid := iter.First(); valid; valid = iter.Next() {
		v, err := iter.ValueAndErr()
		if err != nil {
			break // reported by iter.Error below
		}
		if fnErr = fn(iter.Key()[dataKeyOverhead:], v); fnErr != nil {
			break
		}
	}
	iterErr := errors.Join(iter.Error(), iter.Close())
	if fnErr != nil {
		return fnErr
	}
	if iterErr != nil {
		return fmt.Errorf("storage: scan partition %d: %w", partition, iterErr)
	}
	return nil
}
