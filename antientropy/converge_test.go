package antientropy_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"dynakv/antientropy"
	"dynakv/internal/testutil"
)

// Two replicas diverge behind the transport's back: writes coordinated on
// each side reach the other's network link but are silently dropped, and
// no hints exist. Anti-entropy alone converges them, in both directions,
// and concurrent writes on the two sides stay siblings.
func TestAntiEntropyAloneConvergesDivergedReplicas(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitTrees()
	var keys []string
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	// n1 and n2 miss each other's replication; n3 takes no writes at all.
	for _, pair := range [][2]string{{"n1", "n2"}, {"n2", "n1"}, {"n1", "n3"}, {"n2", "n3"}} {
		c.net.DropReplicate(pair[0], pair[1], true)
	}
	for i, k := range keys {
		switch i % 3 {
		case 0: // only on n1
			mustPut(t, c, "n1", k, "a-"+k)
		case 1: // only on n2
			mustPut(t, c, "n2", k, "b-"+k)
		default: // on both, concurrently: two siblings
			mustPut(t, c, "n1", k, "a-"+k)
			mustPut(t, c, "n2", k, "b-"+k)
		}
	}
	if got := c.stored("n2", keys[0]); got != nil {
		t.Fatalf("n2 already holds %s: the replication was not dropped", keys[0])
	}
	before := c.nodes["n1"].ae.Status().KeysRepaired

	run := c.repair("n1")
	if run.Done != run.Partitions || run.Failed != 0 || run.KeysRepaired == 0 {
		t.Fatalf("repair run %+v: want every partition done, keys repaired", run)
	}
	for i, k := range keys {
		want := []string{"a-" + k}
		switch i % 3 {
		case 1:
			want = []string{"b-" + k}
		case 2:
			want = []string{"a-" + k, "b-" + k}
		}
		first := c.stored("n1", k)
		for _, id := range c.ids {
			got := c.stored(id, k)
			if !slices.Equal(visible(got), want) || !got.Equal(first) {
				t.Errorf("%s on %s: %v, want %v, the same state as n1", k, id, visible(got), want)
			}
		}
	}
	// Bytes follow the difference: a second repair finds nothing to do.
	st := c.nodes["n1"].ae.Status()
	if st.KeysRepaired-before < uint64(len(keys)) {
		t.Errorf("status counts %d keys repaired, want at least %d", st.KeysRepaired-before, len(keys))
	}
	again := c.repair("n1")
	if again.KeysRepaired != 0 {
		t.Errorf("a repair of converged replicas swapped %d keys", again.KeysRepaired)
	}
}

// Writes keep flowing through the trees: a write after the trees were
// built, then dropped on its way, is found by the next scheduled exchange,
// with no repair asked for.
func TestScheduledExchangesRepairWithoutBeingAsked(t *testing.T) {
	c := newCluster(t, 3, func(cfg *antientropy.Config) { cfg.Interval = time.Minute })
	c.waitTrees()
	c.net.DropReplicate("n1", "n2", true)
	c.net.DropReplicate("n1", "n3", true)
	mustPut(t, c, "n1", "late", "v")
	if c.stored("n2", "late") != nil {
		t.Fatal("the replication was not dropped")
	}
	// Every partition is due once the clock has moved past an interval's
	// worth of jitter.
	c.clock.Advance(2 * time.Minute)
	testutil.Eventually(t, convergeWithin, "scheduled exchanges to bring the write everywhere", func() bool {
		for _, id := range c.ids {
			if !slices.Equal(visible(c.stored(id, "late")), []string{"v"}) {
				return false
			}
		}
		return true
	})
}

func mustPut(t *testing.T, c *cluster, at, key, value string) {
	t.Helper()
	if _, err := c.put(at, key, value, nil, 1); err != nil {
		t.Fatalf("put %s at %s: %v", key, at, err)
	}
}
