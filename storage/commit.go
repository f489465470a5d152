package storage

import "github.com/cockroachdb/pebble/v2"

// Pebble v2 treats any error out of its commit pipeline as fatal: DB.Apply
// hands it to Logger.Fatalf ("fatal commit error"), and when Apply (or
// Set, Delete, LogData) waits for a pebble.Sync itself, a failed WAL sync
// is such an error. ApplyNoSyncWait returns once the batch is applied and
// leaves the sync's error to Batch.SyncWait, which returns it. So every
// synced write of the store goes through ApplyNoSyncWait and SyncWait
// (here, or in Update and UpdateBatch, which let go of the key's stripe
// between the two), and a failed disk becomes the store's recorded failure
// (ErrFailed) instead of a panic in whichever goroutine wrote.

// apply is DB.Apply (or, with noSyncWait, DB.ApplyNoSyncWait) of b with wo,
// recording a failure as the store's. A synced wo needs noSyncWait (see
// above), and a SyncWait after it.
func (s *Store) apply(b *pebble.Batch, wo *pebble.WriteOptions, noSyncWait bool) error {
	if noSyncWait {
		return s.failed.record(s.db.ApplyNoSyncWait(b, wo))
	}
	return s.failed.record(s.db.Apply(b, wo))
}

// commit applies b, durably when sync is set, records a disk failure as
// the store's, and closes b.
func (s *Store) commit(b *pebble.Batch, sync bool) error {
	defer b.Close()
	if !sync {
		return s.apply(b, pebble.NoSync, false)
	}
	if err := s.apply(b, pebble.Sync, true); err != nil {
		return err
	}
	return s.failed.record(b.SyncWait())
}

// set stores value under key, durably when sync is set.
func (s *Store) set(key, value []byte, sync bool) error {
	b := s.db.NewBatch()
	if err := b.Set(key, value, nil); err != nil {
		b.Close()
		return err
	}
	return s.commit(b, sync)
}
