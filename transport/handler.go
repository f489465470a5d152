package transport

import (
	"context"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/versioning"
)

// Handler serves the calls other nodes make to this node; the node wiring
// implements it over its local replica and coordinator. Methods are called
// concurrently. ctx carries the caller's deadline and ends when the caller
// gives up or the Server is closed; handlers must return promptly then.
type Handler interface {
	// Read returns this node's stored state of key, nil when it has none.
	Read(ctx context.Context, partition uint32, key []byte) (*versioning.Set, error)
	// Replicate merges state into this node's copy of key and returns once
	// the result is stored durably.
	Replicate(ctx context.Context, partition uint32, key []byte, state *versioning.Set) error
	// ReplicateBatch merges every entry's state into this node's copy of its
	// key and returns once all of them are stored durably.
	ReplicateBatch(ctx context.Context, entries []replica.KeyState) error
	// Coordinate runs a client write another node forwarded here, with the
	// client's levels, and returns the key's new state. Its refusals
	// (*replica.UnavailableError, *replica.TimeoutError,
	// replica.ErrTooManySiblings) reach the forwarding node as typed errors.
	Coordinate(ctx context.Context, key []byte, w replica.Write, opts replica.WriteOptions) (*versioning.Set, error)
	// StoreHint stores state durably as a hint for target, a primary of key
	// that is down, and returns only once it is stored. A refusal (such as
	// the target's hint queue being full) is returned as an error, so the
	// caller does not count the hint as acked.
	StoreHint(ctx context.Context, target string, partition uint32, key []byte, state *versioning.Set) error
	// HeldHints returns, by target, the merged state of the hints this node
	// holds for key and has not delivered yet; targets without hints for key
	// are absent. For debugging, never the request path.
	HeldHints(ctx context.Context, partition uint32, key []byte) (map[string]*versioning.Set, error)

	// Anti-entropy (replica.AntiEntropyPeer).

	// TreeHashes answers one level of a tree comparison with this node's
	// tree of partition; a tree not built yet is an error.
	TreeHashes(ctx context.Context, partition uint32, req merkle.Request) (merkle.Response, error)
	// TreeListing lists this node's keys and versions in the buckets.
	TreeListing(ctx context.Context, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error)
	// ExchangeStates merges each entry's state (none: only read) into this
	// node's copy and returns the key's state afterwards, one per entry.
	ExchangeStates(ctx context.Context, entries []replica.KeyState) ([]replica.KeyState, error)
	// ReapTombstones deletes each key whose state still equals the entry's
	// tombstones and returns, one per entry, whether it did.
	ReapTombstones(ctx context.Context, entries []replica.KeyState) ([]bool, error)

	// ListKeys lists the keys this node holds in partition, as q asks
	// (replica.Local.ListKeys).
	ListKeys(ctx context.Context, partition uint32, q replica.ListQuery) (replica.ListPage, error)
}
