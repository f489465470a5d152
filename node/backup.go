package node

import (
	"dynakv/api"
	"dynakv/replica"
	"dynakv/ring"
)

// backupView is what the backup routes see of the node: its key listing,
// its coordinator and its ring.
type backupView struct {
	*replica.Lister
	*replica.Coordinator
	placement *placement
}

var _ api.Backups = backupView{}

func (b backupView) Partition(key []byte) uint32 {
	return ring.PartitionOf(key, b.placement.Partitions())
}
