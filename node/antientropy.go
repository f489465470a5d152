package node

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/antientropy"
	"dynakv/api"
)

// The node's anti-entropy: its trees are created before the local replica,
// whose OnChange keeps them current; the Manager once the peers and the
// ring exist; it starts with the node's background work and closes before
// storage.

// newTrees returns the hash trees the local replica reports its changes to.
func (n *Node) newTrees() (*antientropy.Trees, error) {
	return antientropy.NewTrees(n.cfg.Partitions, antientropy.DefaultShape())
}

// newAntiEntropy creates the node's anti-entropy Manager over trees.
func (n *Node) newAntiEntropy(trees *antientropy.Trees, reg prometheus.Registerer) error {
	cfg := antientropy.DefaultConfig()
	cfg.Self, cfg.Trees, cfg.Store, cfg.Replica = n.cfg.ID, trees, n.store, n.local
	cfg.Peers, cfg.Placement, cfg.Liveness = n.peers, ringPrimaries{n.placement}, n.gossip
	cfg.Interval, cfg.Rate, cfg.ScanRate = n.cfg.AAEInterval, n.cfg.AAERate, n.cfg.AAEScanRate
	cfg.TombstoneGrace = n.cfg.TombstoneGrace
	cfg.Logger, cfg.Registerer = n.logger, reg
	var err error
	n.antiEntropy, err = antientropy.New(cfg)
	return err
}

// validateAntiEntropy checks the anti-entropy flags. The grace period must
// exceed the hint window: a hint older than the window is dropped, never
// delivered, so a tombstone kept longer than that can never be undone by a
// late hint of the value it deleted (see package antientropy).
func (c *Config) validateAntiEntropy() []error {
	var errs []error
	if c.AAEInterval < 0 || c.AAERate < 0 || c.AAEScanRate < 0 {
		errs = append(errs, fmt.Errorf("--aae-interval %v, --aae-rate %v and --aae-scan-rate %v must not be negative", c.AAEInterval, c.AAERate, c.AAEScanRate))
	}
	if c.TombstoneGrace <= 0 || (c.HintWindow > 0 && c.TombstoneGrace <= c.HintWindow) {
		errs = append(errs, fmt.Errorf("--tombstone-grace %v must be positive and longer than --hint-window %v, so that no late hint can bring a deleted value back", c.TombstoneGrace, c.HintWindow))
	}
	return errs
}

// ringPrimaries names a partition's primaries from the current ring
// (antientropy.Placement).
type ringPrimaries struct{ p *placement }

func (r ringPrimaries) Primaries(partition uint32) []string {
	primaries, _ := r.p.ring().PreferenceList(partition)
	return primaries
}

// repairView serves the repair endpoints (api.AntiEntropy) from the node's
// anti-entropy Manager.
type repairView Node

var _ api.AntiEntropy = (*repairView)(nil)

func (v *repairView) Repair(partitions ...uint32) (api.RepairRun, error) {
	run, err := v.antiEntropy.Repair(partitions...)
	switch {
	case errors.Is(err, antientropy.ErrNoPartition):
		return api.RepairRun{}, &api.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: err.Error()}
	case errors.Is(err, antientropy.ErrNotReplica):
		return api.RepairRun{}, &api.Error{Status: http.StatusConflict, Code: "not_a_replica",
			Message: err.Error() + "; ask one of them, or repair without a partition to repair every partition this node replicates"}
	case errors.Is(err, antientropy.ErrClosed):
		return api.RepairRun{}, fmt.Errorf("repair: %w", api.ErrLeaving)
	case err != nil:
		return api.RepairRun{}, fmt.Errorf("repair: %w", err)
	}
	return repairRun(run), nil
}

func (v *repairView) AntiEntropyStatus() api.AntiEntropyStatus {
	st := v.antiEntropy.Status()
	out := api.AntiEntropyStatus{
		TreeShape: st.Shape, Partitions: st.Partitions, TreesBuilt: st.TreesBuilt, TreesRebuilding: st.Rebuilding,
		Exchanges: st.Exchanges, FailedExchanges: st.FailedExchanges, KeysRepaired: st.KeysRepaired,
		TombstonesReaped: st.TombstonesReaped, TreeRebuilds: st.TreeRebuilds, OldestExchange: st.OldestExchange.Seconds(),
		Repairs: make([]api.RepairRun, 0, len(st.Runs)),
	}
	for _, r := range st.Runs {
		out.Repairs = append(out.Repairs, repairRun(r))
	}
	for _, p := range st.PartitionList {
		out.PartitionList = append(out.PartitionList, api.PartitionAntiEntropy{
			Partition: p.Partition, TreeBuilt: p.TreeBuilt, Keys: p.Keys, Tombstones: p.Tombstones,
			LastExchange: optionalTime(p.LastExchange), LastPeer: p.LastPeer, LastResult: p.LastResult,
			LastKeysRepaired: p.LastKeysRepaired, LastError: p.LastError,
		})
	}
	return out
}

func repairRun(r antientropy.RunStatus) api.RepairRun {
	return api.RepairRun{ID: r.ID, Partitions: r.Partitions, Done: r.Done, Failed: r.Failed,
		KeysRepaired: r.KeysRepaired, Started: r.Started, Finished: optionalTime(r.Finished)}
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
