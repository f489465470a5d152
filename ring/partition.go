package ring

import "github.com/cespare/xxhash/v2"

// DefaultPartitions is the number of partitions of a new cluster. It is fixed
// for the cluster's life: a key's partition must never change.
const DefaultPartitions = 1024

// PartitionOf returns the partition that owns key among n partitions. It is
// the same function buraksezer/consistent applies (xxhash64 of the key,
// modulo the partition count), so a key's partition and the ring's owner of
// that partition always agree.
func PartitionOf(key []byte, n int) uint32 {
	return uint32(xxhash.Sum64(key) % uint64(n))
}
