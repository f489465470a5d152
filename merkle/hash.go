package merkle

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// The hash functions below are part of format version 1 (see format.go):
// changing any of them changes every tree.

// keyHash is the 64-bit hash a key is known by inside a tree: xxhash64 of
// the key, the same hash ring.PartitionOf reduces modulo the partition
// count. Two keys of one partition that share it (about 1M^2/2^65, or
// 3e-8, for a million keys) share a bucket and their item hashes can only
// be told apart by version.
func keyHash(key []byte) uint64 { return xxhash.Sum64(key) }

// mix is murmur3's 64-bit finalizer, a bijection in which every output bit
// depends on every input bit. Buckets take the top bits of mix(keyHash):
// the ring places a key by keyHash modulo the partition count (the low 10
// bits with 1024 partitions), so taking bits of the raw key hash would risk
// crowding one partition's keys into a fraction of the buckets whenever the
// two choices of bits overlap.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// itemHash is a key's contribution to its bucket: xxhash64 of the key hash
// and the version, little-endian. It binds the version to the key, so two
// keys swapping versions change the bucket.
func itemHash(kh, version uint64) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], kh)
	binary.LittleEndian.PutUint64(b[8:], version)
	return xxhash.Sum64(b[:])
}
