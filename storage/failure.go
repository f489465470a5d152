package storage

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// A failed write to the disk stops the store (fail-stop, like Cassandra's
// commit_failure_policy "stop" and CockroachDB's fatal WAL errors). Pebble
// applies a write to its memtable before the WAL write and sync that can
// fail, and a failed WAL stays failed: after one, every later write fails
// too, while reads would still see writes the disk never got, which a
// restart then loses. So from the first failure on, reads fail as well:
// the node answers nothing from a state it cannot keep. The writes that
// failed were never acknowledged (Update returned the error), and every
// write acknowledged before was synced, so a restart on a working disk
// finds everything that was acknowledged.
//
// Every synced write waits for its sync through pebble's SyncWait, which
// returns a failed sync as an error (commit.go); pebble's own Apply would
// call it fatal instead. Pebble still ends the process in one case: each
// time a memtable fills (about every 64 MiB written) it starts a new WAL
// file, and when the disk refuses it, pebble panics with its locks held, a
// runtime fatal error nothing can recover. That is fail-stop too, only
// less polite.

// failure is the first write failure, kept for the life of the Store.
type failure struct {
	err  atomic.Pointer[error]
	done chan struct{} // closed when err is set
}

// record keeps err as the store's failure, unless one is kept already, and
// returns err. pebble.ErrClosed is not a disk failure.
func (f *failure) record(err error) error {
	if err != nil && !errors.Is(err, pebble.ErrClosed) && f.err.CompareAndSwap(nil, &err) {
		close(f.done)
	}
	return err
}

// get returns the failure wrapped in ErrFailed, or nil.
func (f *failure) get() error {
	if p := f.err.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrFailed, *p)
	}
	return nil
}

// Err returns nil while the store works, and an error wrapping ErrFailed
// (and the disk's error) once a write to the disk failed.
func (s *Store) Err() error { return s.failed.get() }

// syncApplied returns once every write applied so far is synced. An update
// that writes nothing calls it while a write of its key's stripe is between
// its apply and its sync: the value it read may be that write's, and whoever
// acknowledges the update (a replica acking a state it already had) must
// not do so before the value is durable. It adds an empty record to the
// WAL with a sync, which syncs everything before it; pebble's group commit
// (and the sync group window) shares that sync with the other writes.
func (s *Store) syncApplied() error {
	return s.write(true, func(b *pebble.Batch) error { return b.LogData(nil, nil) })
}

// Failed is closed when a write to the disk fails; Err then says why. The
// node stops gossiping then, so that its peers route around it.
func (s *Store) Failed() <-chan struct{} { return s.failed.done }

// enter registers an operation, or returns ErrClosed after Close and the
// store's failure after a failed write.
func (s *Store) enter() error {
	if !s.gate.enter() {
		return ErrClosed
	}
	if err := s.failed.get(); err != nil {
		s.gate.exit()
		return err
	}
	return nil
}
