package gossip_test

import (
	"dynakv/gossip"
	"dynakv/replica"
)

// Gossip is the coordinator's liveness.
var _ replica.Liveness = (*gossip.Gossip)(nil)
