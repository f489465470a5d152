package replica

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/trace"

	"dynakv/hints"
	"dynakv/merkle"
	"dynakv/versioning"
)

// errNoHints is returned by PeerService's hint calls when it has no Manager.
var errNoHints = errors.New("this node keeps no hints")

// errNoAntiEntropy is returned by PeerService's anti-entropy calls when it
// has no AntiEntropy.
var errNoAntiEntropy = errors.New("this node runs no anti-entropy")

// AntiEntropyPeer answers the anti-entropy calls other nodes make to this
// one (package antientropy's Manager implements it).
type AntiEntropyPeer interface {
	TreeHashes(ctx context.Context, partition uint32, req merkle.Request) (merkle.Response, error)
	TreeListing(ctx context.Context, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error)
	ExchangeStates(ctx context.Context, entries []KeyState) ([]KeyState, error)
	ReapTombstones(ctx context.Context, entries []KeyState) ([]bool, error)
}

// PeerService answers the calls other nodes make to this one (it satisfies
// transport.Handler): reads of the local replica, merges of replicated
// states, writes forwarded to this node to coordinate, and hints to hold as
// a fallback.
type PeerService struct {
	Local       *Local
	Coordinator *Coordinator
	// Hints holds the hints this node stores as a fallback; nil: the node
	// keeps none, and refuses StoreHint and HeldHints.
	Hints *hints.Manager
	// AntiEntropy answers tree comparisons, key exchanges and tombstone
	// reaps; nil: the node refuses them.
	AntiEntropy AntiEntropyPeer
	// Tracer records a span for each merge into local storage; nil: none.
	Tracer trace.Tracer
}

// Read returns this node's stored state of key.
func (p PeerService) Read(_ context.Context, partition uint32, key []byte) (*versioning.Set, error) {
	return p.Local.Read(partition, key)
}

// Replicate merges a coordinator's state of key into this node's copy.
func (p PeerService) Replicate(ctx context.Context, partition uint32, key []byte, state *versioning.Set) error {
	if p.Tracer != nil {
		var span trace.Span
		_, span = p.Tracer.Start(ctx, "storage.merge")
		defer span.End()
	}
	_, err := p.Local.Merge(partition, key, state)
	return err
}

// ReplicateBatch merges many states sent by another node, with one sync.
func (p PeerService) ReplicateBatch(ctx context.Context, entries []KeyState) error {
	if p.Tracer != nil {
		var span trace.Span
		_, span = p.Tracer.Start(ctx, "storage.merge-batch")
		defer span.End()
	}
	return p.Local.MergeBatch(entries)
}

// Coordinate coordinates a write another node forwarded here.
func (p PeerService) Coordinate(ctx context.Context, key []byte, w Write, opts WriteOptions) (*versioning.Set, error) {
	return p.Coordinator.CoordinateForwarded(ctx, key, w, opts)
}

// StoreHint stores state durably as a hint for target, a primary of key
// that is down, before the caller counts the ack. The Manager's refusals
// (hints.ErrOverCap, hints.ErrSelfTarget, hints.ErrClosed) are returned.
func (p PeerService) StoreHint(_ context.Context, target string, partition uint32, key []byte, state *versioning.Set) error {
	if p.Hints == nil {
		return errNoHints
	}
	done, err := p.Local.Admit()
	if err != nil {
		return err
	}
	defer done()
	return p.Hints.Store(target, partition, key, state)
}

// HeldHints returns, by target, the merged state of the undelivered hints
// this node holds for key.
func (p PeerService) HeldHints(_ context.Context, partition uint32, key []byte) (map[string]*versioning.Set, error) {
	if p.Hints == nil {
		return nil, errNoHints
	}
	return p.Hints.Held(partition, key)
}

// TreeHashes answers one level of a tree comparison from this node's tree
// of partition.
func (p PeerService) TreeHashes(ctx context.Context, partition uint32, req merkle.Request) (merkle.Response, error) {
	if p.AntiEntropy == nil {
		return merkle.Response{}, errNoAntiEntropy
	}
	return p.AntiEntropy.TreeHashes(ctx, partition, req)
}

// TreeListing lists this node's keys in some buckets of its tree of
// partition.
func (p PeerService) TreeListing(ctx context.Context, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error) {
	if p.AntiEntropy == nil {
		return nil, errNoAntiEntropy
	}
	return p.AntiEntropy.TreeListing(ctx, partition, shape, buckets)
}

// ExchangeStates merges the sent states and returns this node's states of
// their keys afterwards.
func (p PeerService) ExchangeStates(ctx context.Context, entries []KeyState) ([]KeyState, error) {
	if p.AntiEntropy == nil {
		return nil, errNoAntiEntropy
	}
	return p.AntiEntropy.ExchangeStates(ctx, entries)
}

// ReapTombstones deletes the keys whose states still equal the sent
// tombstones, and says which it deleted.
func (p PeerService) ReapTombstones(ctx context.Context, entries []KeyState) ([]bool, error) {
	if p.AntiEntropy == nil {
		return nil, errNoAntiEntropy
	}
	return p.AntiEntropy.ReapTombstones(ctx, entries)
}

// ListKeys lists the keys this node holds in partition.
func (p PeerService) ListKeys(_ context.Context, partition uint32, q ListQuery) (ListPage, error) {
	return p.Local.ListKeys(partition, q) // refused by storage once the disk failed
}
