// Package ring owns placement: which partition a key falls in, and which
// nodes form each partition's preference list for a given ring membership.
//
// Everything here is a pure function of its inputs (the key, the settings N
// and partition count, the set of ring members), so every node computes the
// same answer from the same membership. A key's partition is
// xxhash64(key) % partitions (PartitionOf); partitions are given owners by
// consistent hashing with bounded loads (buraksezer/consistent), and each
// preference list continues clockwise from the owner: its first min(N,
// members) members are the primaries, the rest the fallbacks.
//
// The package never tracks liveness or membership (gossip does), never talks
// to the network and never reads or writes data. Build a new Ring whenever
// ring membership changes; a Ring is immutable.
package ring
