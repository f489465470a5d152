package replica

import (
	"sync"
	"sync/atomic"
	"time"

	"dynakv/versioning"
)

// A reap deletes a key's tombstone once every primary holds it. A message
// read before the reap can still arrive after it: an anti-entropy exchange
// that read a replica's state just before that replica got the tombstone,
// a read repair, a hint. Such a state holds nothing the tombstone did not
// already supersede, but merged into a key that is gone it would bring the
// deleted value back. So each replica remembers the tombstones it reaped
// for a while, and a merge into an absent key of a state the reaped
// tombstone supersedes is dropped, as the tombstone would have dropped it.
//
// The window only has to outlast messages in flight, which end at their
// deadlines (seconds; a minute at most for a client request), and the
// memory is bounded: past reapMemoryMax entries the oldest are forgotten
// first, which at worst gives back the behaviour without it.
const (
	reapMemoryWindow = 2 * time.Minute
	reapMemoryMax    = 1 << 16
)

// reapMemory is the recently reaped tombstones of one replica.
type reapMemory struct {
	// size is len(keys), readable without the lock: every merge into an
	// absent key asks, and while nothing was reaped lately the answer
	// costs one atomic load.
	size  atomic.Int64
	mu    sync.Mutex
	keys  map[reapedKey]reaped
	order []reapedKey // order[head:] oldest first, for eviction
	head  int
}

type reapedKey struct {
	partition uint32
	key       string
}

type reaped struct {
	tombstone *versioning.Set
	at        time.Time
}

// add remembers that key's state tombstone was reaped at now.
func (m *reapMemory) add(partition uint32, key []byte, tombstone *versioning.Set, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = make(map[reapedKey]reaped)
	}
	k := reapedKey{partition, string(key)}
	if _, ok := m.keys[k]; !ok {
		m.order = append(m.order, k)
	}
	m.keys[k] = reaped{tombstone: tombstone, at: now}
	m.expire(now)
	m.size.Store(int64(len(m.keys)))
}

// supersedes reports whether in holds a value that a tombstone of key
// reaped within the window supersedes: merging in into the tombstone would
// have changed nothing, and into the absent key it would bring the value
// back. A state of tombstones only is never refused: a primary whose own
// reap was skipped hands its tombstone back this way, to be reaped again.
func (m *reapMemory) supersedes(partition uint32, key []byte, in *versioning.Set, now time.Time) bool {
	if m.size.Load() == 0 || in.NumVisible() == 0 {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.keys[reapedKey{partition, string(key)}]
	if !ok || now.Sub(r.at) > reapMemoryWindow {
		return false
	}
	return r.tombstone.Descends(in)
}

// expire forgets the entries past the window, and the oldest ones past
// reapMemoryMax, in amortised constant time per entry. The caller holds
// m.mu.
func (m *reapMemory) expire(now time.Time) {
	for m.head < len(m.order) {
		k := m.order[m.head]
		if r, ok := m.keys[k]; ok && now.Sub(r.at) <= reapMemoryWindow && len(m.order)-m.head <= reapMemoryMax {
			break
		}
		delete(m.keys, k)
		m.head++
	}
	if m.head > len(m.order)/2 {
		m.order = append(m.order[:0], m.order[m.head:]...)
		m.head = 0
	}
}
