package storage

import (
	"sync"

	"github.com/cespare/xxhash/v2"
)

// The row cache holds recently read or written values of data keys, so that
// a hot key's read (a GET, or the read half of a read-merge-write) costs a
// map lookup and a copy instead of a pebble Get: pebble walks its memtables
// and the sstables' index and data blocks, and copies a block in from the
// block cache or the disk. ScyllaDB caches rows rather than blocks for the
// same reason.
//
// Invariant: a cached value is the value pebble holds for the key, or the
// key is not cached. Two rules keep it:
//
//   - Only a writer holding the key's update stripe changes a key in pebble,
//     and it puts the new value in the cache (or drops the key) after pebble
//     applied the write and before it releases the stripe. A failed write
//     leaves the cache as it was, which is what pebble still holds.
//   - A reader that missed fills the cache with what it read from pebble
//     only if no writer touched the key's shard since before its read (the
//     shard's generation is unchanged); else its value may already be stale
//     and it is dropped. Writers bump the generation under the shard's lock.
//
// Values are never handed out: lookups copy, so a caller may keep or change
// what it got.

// rowCacheShards spreads the cache's locks; a power of two.
const rowCacheShards = 64

// rowEntryOverhead approximates what one entry costs besides its key and
// value bytes (map slot, slot struct, slice headers).
const rowEntryOverhead = 96

type rowCache struct {
	shards [rowCacheShards]rowShard
}

// rowShard is one lock's worth of the cache. Eviction is CLOCK (second
// chance): an entry read since the hand last passed it survives one more
// pass.
type rowShard struct {
	mu       sync.Mutex
	gen      uint64           // bumped by every record
	index    map[string]int32 // key -> slot
	slots    []rowSlot
	free     []int32 // unused slots
	hand     int
	bytes    int64
	capBytes int64

	hits, misses uint64
}

type rowSlot struct {
	key   string
	value []byte
	used  bool
	ref   bool
}

// newRowCache returns a cache of about capBytes, or nil (no cache) when
// capBytes <= 0. A nil *rowCache is valid and caches nothing.
func newRowCache(capBytes int64) *rowCache {
	if capBytes <= 0 {
		return nil
	}
	c := &rowCache{}
	for i := range c.shards {
		c.shards[i].index = make(map[string]int32)
		c.shards[i].capBytes = capBytes / rowCacheShards
	}
	return c
}

func (c *rowCache) shard(key []byte) *rowShard {
	return &c.shards[xxhash.Sum64(key)&(rowCacheShards-1)]
}

// get returns a copy of key's cached value. On a miss it returns the
// shard's generation, to pass to fill with what the caller reads instead.
func (c *rowCache) get(key []byte) (value []byte, ok bool, gen uint64) {
	if c == nil {
		return nil, false, 0
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[string(key)]
	if !ok {
		s.misses++
		return nil, false, s.gen
	}
	s.hits++
	slot := &s.slots[i]
	slot.ref = true
	v := make([]byte, len(slot.value)) // never nil: an empty value is a value
	copy(v, slot.value)
	return v, true, 0
}

// fill caches value, read from pebble after get returned gen, unless a
// writer changed the shard since: the value may be stale then.
func (c *rowCache) fill(key, value []byte, gen uint64) {
	if c == nil {
		return
	}
	v := ownCopy(value)
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	s.setLocked(key, v)
}

// record notes that pebble now holds value for key (nil: pebble deleted
// it). The caller holds the key's update stripe and has applied the write.
// The cache keeps its own copy, made before the shard's lock is taken.
func (c *rowCache) record(key, value []byte) {
	if c == nil {
		return
	}
	var v []byte
	if value != nil {
		v = ownCopy(value)
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if v != nil {
		s.setLocked(key, v)
	} else if i, ok := s.index[string(key)]; ok {
		s.removeLocked(i)
	}
}

// stats sums the shards' counters.
func (c *rowCache) stats() (bytes int64, entries int, hits, misses uint64) {
	if c == nil {
		return 0, 0, 0, 0
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		bytes += s.bytes
		entries += len(s.index)
		hits += s.hits
		misses += s.misses
		s.mu.Unlock()
	}
	return bytes, entries, hits, misses
}

// ownCopy is the cache's own copy of a value (never nil: an empty value is
// a value), made outside any lock.
func ownCopy(value []byte) []byte { return append(make([]byte, 0, len(value)), value...) }

func entryBytes(key string, value []byte) int64 {
	return int64(len(key) + cap(value) + rowEntryOverhead)
}

// setLocked stores value, the cache's own copy, under key, evicting until
// the shard fits. A value larger than the whole shard is not cached (and an
// older value of the key is removed).
func (s *rowShard) setLocked(key, value []byte) {
	if i, ok := s.index[string(key)]; ok {
		s.removeLocked(i)
	}
	slot := rowSlot{key: string(key), value: value, used: true}
	size := entryBytes(slot.key, slot.value)
	if size > s.capBytes {
		return
	}
	for s.bytes+size > s.capBytes {
		s.evictOneLocked()
	}
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
		s.slots[i] = slot
	} else {
		i = int32(len(s.slots))
		s.slots = append(s.slots, slot)
	}
	s.index[slot.key] = i
	s.bytes += size
}

// evictOneLocked removes one entry, sweeping the hand past used slots that
// were referenced (clearing their bit). The shard is not empty: the caller
// needs room, so bytes > 0. Two sweeps always find a victim.
func (s *rowShard) evictOneLocked() {
	for {
		if s.hand >= len(s.slots) {
			s.hand = 0
		}
		slot := &s.slots[s.hand]
		i := s.hand
		s.hand++
		if !slot.used {
			continue
		}
		if slot.ref {
			slot.ref = false
			continue
		}
		s.removeLocked(int32(i))
		return
	}
}

func (s *rowShard) removeLocked(i int32) {
	slot := &s.slots[i]
	s.bytes -= entryBytes(slot.key, slot.value)
	delete(s.index, slot.key)
	*slot = rowSlot{}
	s.free = append(s.free, i)
}
