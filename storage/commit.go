package storage

import "github.com/cockroachdb/pebble/v2"

// Pebble v2 treats any error out of its commit pipeline as fatal: DB.Apply
// hands it to Logger.Fatalf ("fatal commit error"), and when Apply (or
// Set, Delete, LogData) waits for a pebble.Sync itself, a failed WAL sync
// is such an error. ApplyNoSyncWait returns once the batch is applied and
// leaves the sync's error to Batch.SyncWait, which returns it. So every
// synced write of the store goes through ApplyNoSyncWait and SyncWait
// (in write, or in Update and UpdateBatch, which let go of the key's
// stripe between the two), and a failed disk becomes the store's recorded
// failure (ErrFailed) instead of a panic in whichever goroutine wrote.

// write fills a batch and applies it, durably when sync is set, recording
// a disk failure as the store's.
func (s *Store) write(sync bool, fill func(b *pebble.Batch) error) error {
	b := s.db.NewBatch()
	defer b.Close()
	if err := fill(b); err != nil {
		return err
	}
	if !sync {
		return s.failed.record(s.db.Apply(b, pebble.NoSync))
	}
	if err := s.failed.record(s.db.ApplyNoSyncWait(b, pebble.Sync)); err != nil {
		return err
	}
	return s.failed.record(b.SyncWait())
}

// set stores value under key, durably when sync is set.
func (s *Store) set(key, value []byte, sync bool) error {
	return s.write(sync, func(b *pebble.Batch) error { return b.Set(key, value, nil) })
}
