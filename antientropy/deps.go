package antientropy

import (
	"context"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/versioning"
)

// Scanner reads a partition of this node's storage (storage.Store).
type Scanner interface {
	// ScanPartition calls fn for every key of partition, in key order,
	// from one consistent snapshot; key and value are valid during the
	// call only.
	ScanPartition(partition uint32, fn func(key, value []byte) error) error
}

// Replica is this node's copy of every key (replica.Local).
type Replica interface {
	Read(partition uint32, key []byte) (*versioning.Set, error)
	// Merge merges a state into the stored one and returns the result.
	Merge(partition uint32, key []byte, in *versioning.Set) (*versioning.Set, error)
	// ReapIfUnchanged deletes key if its state still equals expected, a
	// state of tombstones only, and reports whether it did.
	ReapIfUnchanged(partition uint32, key []byte, expected *versioning.Set) (bool, error)
}

var _ Replica = (*replica.Local)(nil)

// Peers reaches the other nodes' anti-entropy (replica.Transport).
type Peers interface {
	TreeHashes(ctx context.Context, node string, partition uint32, req merkle.Request) (merkle.Response, error)
	TreeListing(ctx context.Context, node string, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error)
	ExchangeStates(ctx context.Context, node string, entries []replica.KeyState) ([]replica.KeyState, error)
	ReapTombstones(ctx context.Context, node string, entries []replica.KeyState) ([]bool, error)
}

var _ Peers = replica.Transport(nil)

// Placement names a partition's primaries (the ring).
type Placement interface {
	// Primaries returns the primaries of partition, the first primary
	// first; empty for a ring without members.
	Primaries(partition uint32) []string
}

// Liveness tells whether a node is believed reachable (gossip's view).
type Liveness interface {
	Alive(nodeID string) bool
}
