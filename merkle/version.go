package merkle

import (
	"encoding/binary"

	"dynakv/versioning"
	"github.com/cespare/xxhash/v2"
)

// Absent is the version of a key a replica does not hold. VersionHash
// returns it for a key with no history and never for any other.
const Absent uint64 = 0

// VersionHash returns the version of a key's state: a 64-bit hash of its
// causal history, the clock's entries and each sibling's event dots and
// tombstone flag, in the Set's canonical order. Values, content types and
// event timestamps are left out: a dot names exactly one write, so two
// replicas holding the same dots hold the same content, and hashing the
// history instead of the value keeps the hash cheap whatever the value's
// size. Two replicas with equal Sets therefore always hash equal, and
// replicas with different Sets hash differently except with probability
// 2^-64.
//
// Why 64 bits and not 128: a collision makes one exchange miss one key's
// difference, and a missed difference is not lost data: the next write, read
// repair or tree rebuild notices it. With 2^-64 per differing key per
// exchange that does not happen in the life of a cluster, and 8 bytes halve
// both the tree's memory and the exchange's bytes compared with 16.
//
// A nil or empty set returns Absent. A hash that happens to be Absent is
// returned as 1, so Absent keeps its meaning (at the price of making 0 and
// 1 collide, 2^-63).
func VersionHash(s *versioning.Set) uint64 {
	if s.IsEmpty() {
		return Absent
	}
	// The encoding is prefix-free (every list and string carries its
	// length), so distinct histories never feed the hash the same bytes.
	var scratch [256]byte
	b := binary.AppendUvarint(scratch[:0], uint64(len(s.Clock)))
	for _, e := range s.Clock {
		b = appendDot(b, e.Actor, e.Counter)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Siblings)))
	for i := range s.Siblings {
		sib := &s.Siblings[i]
		b = binary.AppendUvarint(b, uint64(len(sib.Events)))
		for _, ev := range sib.Events {
			b = appendDot(b, ev.Dot.Actor, ev.Dot.Counter)
		}
		if sib.Deleted {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	if h := xxhash.Sum64(b); h != Absent {
		return h
	}
	return 1
}

func appendDot(b []byte, a versioning.Actor, counter uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(a)))
	b = append(b, a...)
	return binary.AppendUvarint(b, counter)
}
