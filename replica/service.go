package replica

import (
	"context"

	"dynakv/versioning"
)

// PeerService answers the calls other nodes make to this one (it satisfies
// transport.Handler): reads of the local replica, merges of replicated
// states, and writes forwarded to this node to coordinate.
type PeerService struct {
	Local       *Local
	Coordinator *Coordinator
}

// Read returns this node's stored state of key.
func (p PeerService) Read(_ context.Context, partition uint32, key []byte) (*versioning.Set, error) {
	return p.Local.Read(partition, key)
}

// Replicate merges a coordinator's state of key into this node's copy.
func (p PeerService) Replicate(_ context.Context, partition uint32, key []byte, state *versioning.Set) error {
	_, err := p.Local.Merge(partition, key, state)
	return err
}

// Coordinate coordinates a write another node forwarded here.
func (p PeerService) Coordinate(ctx context.Context, key []byte, w Write, opts WriteOptions) (*versioning.Set, error) {
	return p.Coordinator.CoordinateForwarded(ctx, key, w, opts)
}
