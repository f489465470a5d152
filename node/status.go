package node

import (
	"runtime/debug"
	"slices"

	"dynakv/api"
	"dynakv/gossip"
)

// statusView answers GET /cluster/status (api.StatusSource).
type statusView Node

func (s *statusView) Status() api.StatusView {
	n := (*Node)(s)
	r := n.placement.ring()
	st := api.StatusView{
		ID:                n.cfg.ID,
		Status:            gossip.StatusAlive,
		HTTPAddr:          n.advertised(n.httpListener.Addr()),
		GossipAddr:        n.gossip.LocalAddr(),
		Version:           version(),
		RingShare:         float64(r.Owned()[n.cfg.ID]) / float64(r.Partitions()),
		ReplicaPartitions: r.Shares()[n.cfg.ID],
		Keys:              -1,
		DiskBytes:         n.store.Stats().DiskBytes,
	}
	if n.leaving.Load() {
		st.Status = gossip.StatusLeaving
	}
	for _, id := range n.gossip.RingMembers() {
		count, bytes := n.hints.Pending(id)
		st.HintsPending += count
		st.HintsPendingBytes += bytes
	}
	if rb := n.rebalance; rb != nil {
		st.Transfers = api.TransferStatus{
			PendingPartitions: rb.pendingPartitions(),
			Settling:          n.placement.previousRing() != nil,
			Passes:            rb.passes.Load(),
			KeysSent:          n.transfers.keysSent.Load(),
			BytesSent:         n.transfers.bytesSent.Load(),
			KeysDropped:       n.transfers.keysDropped.Load(),
			Running:           n.transfers.Running(),
		}
	}
	if phase := n.leaveState.Phase(); phase != "" {
		st.Transfers.Leave = &api.LeaveProgress{
			Phase:           phase,
			PartitionsTotal: n.leaveState.partitionsTotal.Load(),
			PartitionsDone:  n.leaveState.partitionsDone.Load(),
			KeysResent:      n.leaveState.keysResent.Load(),
		}
	}
	if n.antiEntropy != nil {
		aae := n.antiEntropy.Status()
		st.AntiEntropy = api.AAESummary{
			Partitions:       aae.Partitions,
			TreesBuilt:       aae.TreesBuilt,
			Exchanges:        aae.Exchanges,
			KeysRepaired:     aae.KeysRepaired,
			TombstonesReaped: aae.TombstonesReaped,
		}
		if aae.Partitions > 0 && aae.TreesBuilt == aae.Partitions {
			st.Keys = 0
			for _, p := range aae.PartitionList {
				st.Keys += int64(p.Keys)
			}
		}
	}
	return st
}

// pendingPartitions counts the partitions this node stores data of without
// being one of their primaries: data still to hand to their owners.
func (r *rebalancer) pendingPartitions() int {
	n := r.n
	cur := n.placement.ring()
	pending := 0
	for p := range uint32(cur.Partitions()) {
		primaries, _ := cur.PreferenceList(p)
		if slices.Contains(primaries, n.cfg.ID) {
			continue
		}
		if empty, err := n.partitionEmpty(p); err == nil && !empty {
			pending++
		}
	}
	return pending
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
