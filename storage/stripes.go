package storage

import (
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// numStripes is the number of update locks. A fixed array (rather than a
// per-key map) costs no allocation and never grows; with 4096 stripes two
// of ~32 concurrent updates share a stripe with probability ~12%, and
// sharing only serialises them, it never breaks correctness.
const numStripes = 4096

// stripes serialises read-modify-write cycles per key: an update holds the
// stripe of its pebble key from its read until its write is durable.
type stripes struct {
	mu [numStripes]paddedMutex
}

// paddedMutex keeps each mutex on its own cache line so that updates of
// different keys do not contend on the line.
type paddedMutex struct {
	sync.Mutex
	// unsynced counts the stripe's writes that are applied (visible) but
	// not yet synced: raised under the mutex before the apply, lowered
	// once the sync returned. An update holding the mutex that sees 0
	// knows every value of the stripe it can read is durable.
	unsynced atomic.Int32
	_        [64 - 8 - 4]byte
}

func newStripes() *stripes { return new(stripes) }

// unsynced is the count of applied but unsynced writes of stripe i.
func (s *stripes) unsynced(i int) *atomic.Int32 { return &s.mu[i].unsynced }

// index is the number of the stripe of a pebble key.
func (s *stripes) index(pebbleKey []byte) int {
	return int(xxhash.Sum64(pebbleKey) & (numStripes - 1))
}
