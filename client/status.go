package client

import (
	"context"
	"fmt"
	"time"
)

// NodeStatus is GET /cluster/status: one node's own figures.
type NodeStatus struct {
	ID                string  `json:"id"`
	Status            string  `json:"status"`
	HTTPAddr          string  `json:"http_addr"`
	GossipAddr        string  `json:"gossip_addr"`
	Version           string  `json:"version"`
	RingShare         float64 `json:"ring_share"`
	ReplicaPartitions int     `json:"replica_partitions"`
	Keys              int64   `json:"keys"` // -1 until anti-entropy's trees are built
	DiskBytes         uint64  `json:"disk_bytes"`
	HintsPending      int     `json:"hints_pending"`
	HintsPendingBytes int64   `json:"hints_pending_bytes"`
	Transfers         struct {
		PendingPartitions int `json:"pending_partitions"`
		// Settling: the node saw a ring change and its data has not
		// settled yet (transfers and the anti-entropy round after them).
		Settling    bool  `json:"settling"`
		Passes      int64 `json:"passes"`
		KeysSent    int64 `json:"keys_sent"`
		BytesSent   int64 `json:"bytes_sent"`
		KeysDropped int64 `json:"keys_dropped"`
		// Running are the partitions the node is sending right now.
		Running []RunningTransfer `json:"running"`
		// Leave is set while the node leaves.
		Leave *LeaveProgress `json:"leave"`
	} `json:"transfers"`
	AntiEntropy struct {
		Partitions       int    `json:"partitions"`
		TreesBuilt       int    `json:"trees_built"`
		Exchanges        uint64 `json:"exchanges"`
		KeysRepaired     uint64 `json:"keys_repaired"`
		TombstonesReaped uint64 `json:"tombstones_reaped"`
	} `json:"anti_entropy"`
}

// RunningTransfer is one partition a node is sending right now.
type RunningTransfer struct {
	Partition uint32    `json:"partition"`
	Kind      string    `json:"kind"` // move-out, to-newcomers or leave
	To        []string  `json:"to"`
	KeysSent  int64     `json:"keys_sent"`
	Started   time.Time `json:"started"`
}

// LeaveProgress is how far a leaving node got.
type LeaveProgress struct {
	Phase           string `json:"phase"`
	PartitionsTotal int64  `json:"partitions_total"`
	PartitionsDone  int64  `json:"partitions_done"`
	KeysResent      int64  `json:"keys_resent"`
}

// Status returns the contacted node's own status.
func (c *Client) Status(ctx context.Context) (*NodeStatus, error) {
	var out NodeStatus
	if err := c.getJSON(ctx, "/cluster/status", nil, &out); err != nil {
		return nil, fmt.Errorf("get status: %w", err)
	}
	return &out, nil
}
