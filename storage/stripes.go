package storage

import (
	"sync"

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
	_ [64 - 8]byte
}

func newStripes() *stripes { return new(stripes) }

// of returns the stripe of a pebble key. The key includes the partition, so
// equal user keys in different partitions are different keys.
func (s *stripes) of(pebbleKey []byte) *sync.Mutex {
	return &s.mu[s.index(pebbleKey)].Mutex
}

// index is the number of the stripe of a pebble key.
func (s *stripes) index(pebbleKey []byte) int {
	return int(xxhash.Sum64(pebbleKey) & (numStripes - 1))
}
