package replica

import (
	"errors"
	"fmt"

	"dynakv/versioning"
)

// ErrNotTombstone is returned by ReapIfUnchanged when asked to delete a
// state that is not made of tombstones only: reaping never removes a value.
var ErrNotTombstone = errors.New("state holds a sibling that is not a tombstone")

// ReapIfUnchanged deletes key from storage if its stored state still
// Equals expected, whose every sibling must be a tombstone, and reports
// whether it did. It is how anti-entropy reaps a tombstone once every
// primary holds it and its grace period has passed.
//
// The comparison and the delete happen under storage's update lock of the
// key, so a write or merge that lands between the caller's read and this
// call wins: the key keeps its new state and ReapIfUnchanged returns false.
// That makes a reap safe however late it arrives: it can only remove a
// state the caller saw on every primary, never one that moved on since.
//
// The delete is reported to OnChange with after nil. Dots are not reused
// after a reap: they come from the node's persisted sequence, never from
// the key's clock alone, so a later write to the key is fresh.
func (l *Local) ReapIfUnchanged(partition uint32, key []byte, expected *versioning.Set) (bool, error) {
	if !expected.Deleted() {
		return false, fmt.Errorf("reap %q: %w", key, ErrNotTombstone)
	}
	var before *versioning.Set
	_, err := l.store.Update(partition, key, func(old []byte, found bool) ([]byte, bool, error) {
		cur, err := decodeStored(old, found)
		if err != nil {
			return nil, false, err
		}
		if !cur.Equal(expected) {
			return nil, false, nil
		}
		before = cur
		return nil, true, nil // changed with no value: storage deletes the key
	})
	if err != nil {
		return false, fmt.Errorf("reap %q: %w", key, err)
	}
	if before == nil {
		return false, nil
	}
	l.reaped.add(partition, key, before, l.now())
	l.changed(partition, key, before, nil)
	return true, nil
}
