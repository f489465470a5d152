package antientropy_test

import (
	"errors"
	"strings"
	"testing"

	"dynakv/antientropy"
)

// Progress shows in Status and in the dynakv_aae_* metrics, each with a
// HELP string.
func TestStatusAndMetricsShowProgress(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitTrees()
	c.net.DropReplicate("n1", "n2", true)
	c.net.DropReplicate("n1", "n3", true)
	mustPut(t, c, "n1", "k", "v")
	c.repair("n1")

	st := c.nodes["n1"].ae.Status()
	if st.Partitions != 16 || st.TreesBuilt != 16 || st.Shape != "16^2" || st.TreeRebuilds < 16 {
		t.Errorf("status %+v: want 16 partitions with trees of shape 16^2", st)
	}
	// The key differed with each of the two other primaries: it counts
	// once per exchange that swapped it.
	if st.Exchanges < 32 || st.KeysRepaired != 2 || len(st.Runs) != 1 || st.Runs[0].Done != 16 || st.Runs[0].KeysRepaired != 2 {
		t.Errorf("status %+v: want 32 exchanges or more, the key repaired with both peers, one finished run", st)
	}
	p := c.partitionOf("k")
	var found bool
	for _, ps := range st.PartitionList {
		if ps.Partition == p {
			found = true
			if ps.LastPeer == "" || ps.LastExchange.IsZero() || ps.Keys != 1 || !ps.TreeBuilt {
				t.Errorf("partition %d: %+v, want a built tree of 1 key and a last exchange", p, ps)
			}
		}
	}
	if !found {
		t.Errorf("status lists no partition %d", p)
	}

	families, err := c.nodes["n1"].reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "dynakv_aae_") {
			continue
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", f.GetName())
		}
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				values[f.GetName()] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				values[f.GetName()] += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				values[f.GetName()] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for name, atLeast := range map[string]float64{
		"dynakv_aae_exchanges_total":           16,
		"dynakv_aae_keys_repaired_total":       1,
		"dynakv_aae_bytes_total":               1,
		"dynakv_aae_tree_rebuilds_total":       16,
		"dynakv_aae_tombstones_reaped_total":   0,
		"dynakv_aae_last_exchange_age_seconds": 0,
		"dynakv_aae_exchange_seconds":          16,
		"dynakv_aae_trees_built":               16,
		"dynakv_aae_partitions":                16,
	} {
		v, ok := values[name]
		if !ok || v < atLeast {
			t.Errorf("%s = %v (exported: %v), want at least %v", name, v, ok, atLeast)
		}
	}
}

func TestRepairRefusals(t *testing.T) {
	c := newCluster(t, 4, nil) // N=3 of 4: each node misses some partitions
	ae := c.nodes["n4"].ae
	if _, err := ae.Repair(16); !errors.Is(err, antientropy.ErrNoPartition) {
		t.Errorf("repair of partition 16 of 16: err = %v, want ErrNoPartition", err)
	}
	var foreign uint32
	for p := range uint32(16) {
		primaries := placement{c.ring}.Primaries(p)
		if primaries[0] != "n4" && primaries[1] != "n4" && primaries[2] != "n4" {
			foreign = p
			break
		}
	}
	_, err := ae.Repair(foreign)
	if !errors.Is(err, antientropy.ErrNotReplica) || !strings.Contains(err.Error(), "primaries are") {
		t.Errorf("repair of a partition n4 does not replicate: err = %v, want ErrNotReplica naming the primaries", err)
	}
	ae.Close()
	if _, err := ae.Repair(); !errors.Is(err, antientropy.ErrClosed) {
		t.Errorf("repair after Close: err = %v, want ErrClosed", err)
	}
}
