package api

import (
	"net/http"
	"time"
)

// StatusSource answers GET /cluster/status with this node's own figures;
// `dynakv status` asks every node and prints one table.
type StatusSource interface {
	Status() StatusView
}

// StatusView is one node's view of itself, like a row of `nodetool status`.
type StatusView struct {
	ID         string `json:"id"`
	Status     string `json:"status"` // alive, or leaving
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr"`
	Version    string `json:"version"`
	// RingShare is the fraction of partitions this node is the first
	// primary of; ReplicaPartitions how many it holds a replica of.
	RingShare         float64 `json:"ring_share"`
	ReplicaPartitions int     `json:"replica_partitions"`
	// Keys counts the keys of the partitions this node is a primary of,
	// from anti-entropy's hash trees; -1 until those are built.
	Keys              int64          `json:"keys"`
	DiskBytes         uint64         `json:"disk_bytes"`
	HintsPending      int            `json:"hints_pending"`
	HintsPendingBytes int64          `json:"hints_pending_bytes"`
	Transfers         TransferStatus `json:"transfers"`
	AntiEntropy       AAESummary     `json:"anti_entropy"`
}

// TransferStatus is the progress of ownership transfers (data moving where
// the ring says it belongs after a join, leave or remove).
type TransferStatus struct {
	// PendingPartitions holds data this node must still hand to others.
	PendingPartitions int `json:"pending_partitions"`
	// Settling is true from a ring change this node saw until its data
	// settled: its transfers done and the anti-entropy round that ends
	// them finished (meanwhile its reads also ask the previous owners).
	Settling    bool  `json:"settling"`
	Passes      int64 `json:"passes"`
	KeysSent    int64 `json:"keys_sent"`
	BytesSent   int64 `json:"bytes_sent"`
	KeysDropped int64 `json:"keys_dropped"`
	// Running are the partitions this node is sending right now.
	Running []RunningTransfer `json:"running"`
	// Leave is the progress of this node's leave; absent unless leaving.
	Leave *LeaveProgress `json:"leave,omitempty"`
}

// RunningTransfer is one partition on its way to other nodes, as
// `riak-admin transfers` lists them.
type RunningTransfer struct {
	Partition uint32 `json:"partition"`
	// Kind is why it moves: "move-out" (this node no longer owns it),
	// "to-newcomers" (new primaries joined it) or "leave".
	Kind     string    `json:"kind"`
	To       []string  `json:"to"`
	KeysSent int64     `json:"keys_sent"`
	Started  time.Time `json:"started"`
}

// LeaveProgress is how far a leaving node got (`dynakv leave --wait` draws
// it): it streams PartitionsTotal partitions, then resends the keys written
// meanwhile, delivers the hints it holds, and leaves.
type LeaveProgress struct {
	Phase           string `json:"phase"`
	PartitionsTotal int64  `json:"partitions_total"`
	PartitionsDone  int64  `json:"partitions_done"`
	KeysResent      int64  `json:"keys_resent"`
}

// AAESummary is anti-entropy's progress on this node.
type AAESummary struct {
	Partitions       int    `json:"partitions"`
	TreesBuilt       int    `json:"trees_built"`
	Exchanges        uint64 `json:"exchanges"`
	KeysRepaired     uint64 `json:"keys_repaired"`
	TombstonesReaped uint64 `json:"tombstones_reaped"`
}

// StatusRoutes returns the route of GET /cluster/status, for Config.Routes.
func StatusRoutes(src StatusSource) []Route {
	return []Route{{"GET /cluster/status", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, src.Status())
	})}}
}
