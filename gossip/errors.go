package gossip

import "errors"

var (
	// ErrSettingsMismatch means a node of another cluster, or of this cluster
	// with a different N or partition count, tried to join or be joined; or
	// the data folder was written with other settings.
	ErrSettingsMismatch = errors.New("gossip: cluster settings mismatch")

	// ErrNodeAlive means Remove was asked to remove a node that gossip
	// still sees alive (or suspect). Only a dead node can be removed.
	ErrNodeAlive = errors.New("gossip: node is alive")

	// ErrUnknownNode means the node id is not known to gossip.
	ErrUnknownNode = errors.New("gossip: unknown node")

	// ErrClosed means the Gossip was closed (or left the cluster).
	ErrClosed = errors.New("gossip: closed")

	// ErrInvalidConfig means a Config field is missing or out of range.
	ErrInvalidConfig = errors.New("gossip: invalid config")
)
