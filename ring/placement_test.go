package ring_test

import (
	"dynakv/replica"
	"dynakv/ring"
)

// Ring is the coordinator's placement.
var _ replica.Placement = (*ring.Ring)(nil)
