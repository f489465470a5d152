package replica

import (
	"context"

	"dynakv/merkle"
	"dynakv/versioning"
)

// Write is one client write or delete of a key.
type Write struct {
	Context     versioning.Clock // what the client's read saw; empty for a blind write
	Value       []byte
	ContentType string
	Delete      bool // write a tombstone instead of a value
}

// Placement locates a key: its partition and preference list. Primaries are
// the N distinct ring members that own the partition; fallbacks are the
// following ring members, in the order they stand in for primaries.
type Placement interface {
	Locate(key []byte) (partition uint32, primaries, fallbacks []string)
	// Replicas is the number of primaries every key has now: N, or fewer
	// while the ring has fewer than N members. Levels are counted against it,
	// so "quorum" on a one-node ring is that one node.
	Replicas() int
}

// PreviousOwners is implemented by a Placement that knows of a ring change
// whose data may still be moving: for a partition, it returns the nodes that
// were its primaries before the change and are not now. Until the new
// primaries received the partition, an old owner may be the only node that
// holds a key (it drops its copy only once every new primary acknowledged
// it), so reads ask those nodes too (see Coordinator.Get).
type PreviousOwners interface {
	PreviousOwners(partition uint32) []string
}

// Liveness tells whether a node is believed reachable (gossip's view).
type Liveness interface {
	Alive(nodeID string) bool
}

// Transport carries the coordinator's calls to other nodes. Implementations
// propagate ctx's deadline to the peer, and must be safe for concurrent use.
type Transport interface {
	// Read returns the peer's stored state of key (nil when it has none).
	Read(ctx context.Context, node string, partition uint32, key []byte) (*versioning.Set, error)
	// Replicate merges state into the peer's copy of key and returns once
	// the peer stored it durably.
	Replicate(ctx context.Context, node string, partition uint32, key []byte, state *versioning.Set) error
	// ReplicateBatch merges every entry's state into the peer's copy of its
	// key and returns once the peer stored all of them durably; an error
	// means the peer may have stored some, all or none.
	ReplicateBatch(ctx context.Context, node string, entries []KeyState) error
	// Coordinate forwards a client write to a peer that is a replica of the
	// key, which coordinates it with the same levels.
	Coordinate(ctx context.Context, node string, key []byte, w Write, opts WriteOptions) (*versioning.Set, error)
	// StoreHint asks node, a fallback, to store state durably as a hint for
	// target, a primary of key that is down (sloppy quorum), and returns only
	// once node stored it. node's refusal (such as a full hint queue) is an
	// error that is not unreachable; either way the hint is not acked.
	StoreHint(ctx context.Context, node, target string, partition uint32, key []byte, state *versioning.Set) error
	// HeldHints returns, by target, the merged state of the hints node holds
	// for key and has not delivered yet. For debugging, never the request
	// path.
	HeldHints(ctx context.Context, node string, partition uint32, key []byte) (map[string]*versioning.Set, error)

	// Anti-entropy's calls (package antientropy drives them; the
	// coordinator never makes them).

	// TreeHashes answers one step of a hash-tree comparison: node's hashes
	// of the requested nodes of its tree of partition (merkle.Answer).
	TreeHashes(ctx context.Context, node string, partition uint32, req merkle.Request) (merkle.Response, error)
	// TreeListing returns node's keys, with their version hashes, in the
	// given buckets of its tree of partition.
	TreeListing(ctx context.Context, node string, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error)
	// ExchangeStates merges each entry's state into node's copy of the key
	// (an entry without a state only reads it) and returns node's state of
	// every key afterwards, one per entry, in order.
	ExchangeStates(ctx context.Context, node string, entries []KeyState) ([]KeyState, error)
	// ReapTombstones asks node to delete each key whose stored state still
	// equals the entry's (every sibling a tombstone), and returns, one per
	// entry, whether it did.
	ReapTombstones(ctx context.Context, node string, entries []KeyState) ([]bool, error)
}

// KeyState is one key's state in one partition, the unit of batched calls
// (ownership transfer, anti-entropy). A nil State means the key has none.
type KeyState struct {
	Partition uint32
	Key       []byte
	State     *versioning.Set
}
