package storage

import (
	"errors"
	"fmt"
	"slices"
)

// BatchUpdate is one key's part of an UpdateBatch.
type BatchUpdate struct {
	Partition uint32
	Key       []byte
	Fn        UpdateFunc
}

// UpdateBatch is Update for many keys at once: each key is read, passed to
// its function and written as Update would, but all writes go to pebble as
// one batch with one WAL sync. Ownership transfer and batched replication
// use it so that a thousand keys cost one fsync, not a thousand.
//
// It is atomic per key, not across keys: concurrent Updates of any of the
// keys are serialised with it (the keys' update locks are held from the
// reads until the batch is applied), and a crash keeps all of the batch or
// none of it. If any function returns an error, nothing is written and
// UpdateBatch returns that error wrapped with its key. A key may appear more
// than once; later entries see the earlier entries' results. It returns the
// value each key holds afterwards, in the order of updates.
func (s *Store) UpdateBatch(updates []BatchUpdate) ([][]byte, error) {
	if len(updates) == 0 {
		return nil, nil
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.gate.exit()

	pebbleKeys := make([][]byte, len(updates))
	for i, u := range updates {
		pebbleKeys[i] = appendDataKey(nil, u.Partition, u.Key)
	}
	unlock, stripes := s.lockStripes(pebbleKeys)
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()

	// pending holds the values this batch wrote, so that a key updated
	// twice sees its own earlier update rather than the stored value.
	pending := make(map[string]pendingValue)
	values := make([][]byte, len(updates))
	b := s.db.NewBatch()
	defer b.Close()
	for i, u := range updates {
		k := pebbleKeys[i]
		var old []byte
		var found bool
		if p, ok := pending[string(k)]; ok {
			old, found = p.value, p.found
		} else {
			v, err := s.readForUpdate(k)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("storage: update %q in partition %d: read: %w", u.Key, u.Partition, err)
			}
			old, found = v, err == nil
		}
		newValue, changed, err := u.Fn(old, found)
		if err != nil {
			return nil, fmt.Errorf("storage: update %q in partition %d: %w", u.Key, u.Partition, err)
		}
		if !changed {
			values[i] = old
			continue
		}
		if newValue == nil {
			err = b.Delete(k, nil)
		} else {
			err = b.Set(k, newValue, nil)
		}
		if err != nil {
			return nil, fmt.Errorf("storage: update %q in partition %d: write: %w", u.Key, u.Partition, err)
		}
		values[i] = newValue
		pending[string(k)] = pendingValue{value: newValue, found: newValue != nil}
	}
	if b.Empty() {
		if s.wo.Sync && slices.ContainsFunc(stripes, func(i int) bool { return s.stripes.unsynced(i).Load() > 0 }) {
			// The values read may be writes still waiting for their sync.
			unlock()
			locked = false
			if err := s.syncApplied(); err != nil {
				return nil, fmt.Errorf("storage: sync a batch of %d unchanged keys: %w", len(updates), err)
			}
		}
		return values, nil
	}
	if !s.wo.Sync {
		if err := s.failed.record(s.db.Apply(b, s.wo)); err != nil {
			return nil, fmt.Errorf("storage: apply a batch of %d updates: %w", len(updates), err)
		}
		s.writtenBatch(pending)
		return values, nil
	}
	s.addUnsynced(stripes, 1)
	if err := s.failed.record(s.db.ApplyNoSyncWait(b, s.wo)); err != nil {
		s.addUnsynced(stripes, -1)
		return nil, fmt.Errorf("storage: apply a batch of %d updates: %w", len(updates), err)
	}
	s.writtenBatch(pending)
	// The writes are visible: let other updates of these keys go on while
	// this batch syncs (their own syncs come later in the WAL).
	unlock()
	locked = false
	err := s.failed.record(b.SyncWait())
	s.addUnsynced(stripes, -1)
	if err != nil {
		return nil, fmt.Errorf("storage: sync a batch of %d updates: %w", len(updates), err)
	}
	return values, nil
}

// pendingValue is what an UpdateBatch wrote for a key so far.
type pendingValue struct {
	value []byte
	found bool
}

// writtenBatch records an applied batch's final values in the row cache.
func (s *Store) writtenBatch(pending map[string]pendingValue) {
	for k, p := range pending {
		s.rows.record([]byte(k), p.value)
	}
}

// addUnsynced moves the unsynced-write count of each stripe by n.
func (s *Store) addUnsynced(stripes []int, n int32) {
	for _, i := range stripes {
		s.stripes.unsynced(i).Add(n)
	}
}

// lockStripes locks the update stripes of every key, each once and in
// stripe order (so two batches never deadlock), and returns the unlock and
// the stripes.
func (s *Store) lockStripes(pebbleKeys [][]byte) (unlock func(), stripes []int) {
	idx := make([]int, 0, len(pebbleKeys))
	for _, k := range pebbleKeys {
		idx = append(idx, s.stripes.index(k))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		s.stripes.mu[i].Lock()
	}
	return func() {
		for _, i := range idx {
			s.stripes.mu[i].Unlock()
		}
	}, idx
}
