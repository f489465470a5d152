package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// UpdateFunc computes a key's new value from its current one.
//
// old is the current value (a copy the function may keep) and found reports
// whether the key exists. The function returns:
//
//   - err != nil: nothing is written; Update returns err as is.
//   - changed == false: nothing is written; Update returns old.
//   - changed && newValue == nil: the key is deleted.
//   - changed && newValue != nil: newValue is written (an empty non-nil
//     slice is stored as an empty value, not a delete).
//
// It runs while the key's update lock is held: it must be quick and must
// not Update a key itself (a key sharing the lock would deadlock).
type UpdateFunc func(old []byte, found bool) (newValue []byte, changed bool, err error)

// Get returns a copy of the value of key in partition, or ErrNotFound.
func (s *Store) Get(partition uint32, key []byte) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.gate.exit()
	kb := s.keys.get()
	defer s.keys.put(kb)
	kb.b = appendDataKey(kb.b[:0], partition, key)

	v, err := s.read(kb.b)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("storage: get %q in partition %d: %w", key, partition, err)
	}
	return v, nil
}

// read returns a copy of a data key's value, from the row cache if it has
// it, else from pebble (caching what it read), or ErrNotFound.
func (s *Store) read(pebbleKey []byte) ([]byte, error) {
	v, ok, gen := s.rows.get(pebbleKey)
	if ok {
		return v, nil
	}
	v, err := s.get(pebbleKey)
	if s.testHookMissed != nil {
		s.testHookMissed()
	}
	if err == nil {
		s.rows.fill(pebbleKey, v, gen)
	}
	return v, err
}

// readForUpdate is read for a writer holding the key's update stripe: a
// miss is not cached, as the writer records its own new value right after.
func (s *Store) readForUpdate(pebbleKey []byte) ([]byte, error) {
	if v, ok, _ := s.rows.get(pebbleKey); ok {
		return v, nil
	}
	return s.get(pebbleKey)
}

// get reads a pebble key and copies the value out of pebble's buffer, which
// is only valid until the closer is closed. A missing key returns
// ErrNotFound.
func (s *Store) get(pebbleKey []byte) ([]byte, error) {
	v, closer, err := s.db.Get(pebbleKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(v))
	copy(out, v)
	if err := closer.Close(); err != nil {
		return nil, err
	}
	return out, nil
}

// Update atomically reads the value of key in partition, calls fn, and
// writes what fn returns (see UpdateFunc). It returns the value the key
// holds afterwards: newValue if written (nil if deleted), old otherwise.
//
// Concurrent Updates of the same key are serialised: each sees the previous
// one's result, so no update is lost. Updates of different keys proceed in
// parallel. With Options.Sync the write is fsynced before Update returns.
func (s *Store) Update(partition uint32, key []byte, fn UpdateFunc) ([]byte, error) {
	value, wait, err := s.UpdateNoSyncWait(partition, key, fn)
	if err != nil {
		return nil, err
	}
	if err := wait(); err != nil {
		return nil, err
	}
	return value, nil
}
