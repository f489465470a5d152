package storage

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// UpdateNoSyncWait is Update that returns as soon as the write is applied
// (visible to every later read and Update of the key), without waiting for
// its WAL sync; wait blocks until the write is durable. A coordinator uses
// it to send a write to the other replicas while its own copy is being
// synced, instead of after: the write's latency is then one sync, not two.
//
// When err is nil the caller must call wait exactly once (Close waits for
// it), and must not
// acknowledge the write to anyone before wait returned nil. A later Update of
// the same key may read the value before it is durable; its own sync comes
// later in the WAL, so once that one is durable, so is this one. A later
// Update that writes nothing has no sync of its own, so while a write of
// the key's stripe is still unsynced it syncs the WAL before it returns
// (syncApplied). This
// relies on pebble's ApplyNoSyncWait, which CockroachDB uses for the same
// purpose.
func (s *Store) UpdateNoSyncWait(partition uint32, key []byte, fn UpdateFunc) (value []byte, wait func() error, err error) {
	if err := s.enter(); err != nil {
		return nil, nil, err
	}
	defer func() {
		// A panic (a bug in fn, say) hands out no wait to leave the gate:
		// leave it here, so that Close does not wait for this update
		// forever after a caller (net/http, for one) recovered the panic.
		if p := recover(); p != nil {
			s.gate.exit()
			panic(p)
		}
	}()
	var b *pebble.Batch
	var pending *atomic.Int32 // the key's stripe's unsynced writes
	wait = func() error {
		defer s.gate.exit()
		if b == nil {
			return nil
		}
		defer b.Close()
		err := s.failed.record(b.SyncWait())
		pending.Add(-1)
		if err != nil {
			return fmt.Errorf("storage: sync %q in partition %d: %w", key, partition, err)
		}
		return nil
	}
	kb := s.keys.get()
	defer s.keys.put(kb)
	kb.b = appendDataKey(kb.b[:0], partition, key)
	k := kb.b

	stripe := s.stripes.index(k)
	pending = s.stripes.unsynced(stripe)
	mu := &s.stripes.mu[stripe].Mutex
	mu.Lock()
	defer mu.Unlock()

	old, err := s.readForUpdate(k)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		wait()
		return nil, nil, fmt.Errorf("storage: update %q in partition %d: read: %w", key, partition, err)
	}
	newValue, changed, err := fn(old, found)
	if err == nil && !changed && s.wo.Sync && pending.Load() > 0 {
		// What old holds may be a write still waiting for its sync; the
		// caller must not acknowledge it before that sync.
		return old, func() error {
			defer s.gate.exit()
			if err := s.syncApplied(); err != nil {
				return fmt.Errorf("storage: sync %q in partition %d: %w", key, partition, err)
			}
			return nil
		}, nil
	}
	if err != nil || !changed {
		wait()
		return old, func() error { return nil }, err
	}
	b = s.db.NewBatch()
	if newValue == nil {
		err = b.Delete(k, nil)
	} else {
		err = b.Set(k, newValue, nil)
	}
	if err == nil {
		if s.wo.Sync {
			pending.Add(1)
			if err = s.failed.record(s.db.ApplyNoSyncWait(b, s.wo)); err != nil {
				pending.Add(-1)
			}
		} else {
			err = s.failed.record(s.db.Apply(b, s.wo))
			b.Close()
			b = nil
		}
	}
	if err != nil {
		if b != nil {
			b.Close()
			b = nil
		}
		wait()
		return nil, nil, fmt.Errorf("storage: update %q in partition %d: write: %w", key, partition, err)
	}
	s.rows.record(k, newValue) // pebble applied it: the row cache follows
	return newValue, wait, nil
}
