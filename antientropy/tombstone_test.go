package antientropy_test

import (
	"fmt"
	"testing"
	"time"

	"dynakv/internal/testutil"
	"dynakv/versioning"
)

// The test: write, cut one primary off, delete with w=quorum, heal,
// converge. The key stays deleted at every node and every level, also after
// the cut-off node restarts; once the grace period has passed the
// tombstone is reaped on every replica; and a later write is fresh.
func TestDeleteStaysDeletedThenTheTombstoneIsReaped(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitTrees()
	const key = "doomed"
	written, err := c.put("n1", key, "v", nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	c.isolate("n3")
	if _, err := c.del("n1", key, written.Context(), 2); err != nil {
		t.Fatalf("delete with w=quorum and n3 cut off: %v", err)
	}
	if got := visible(c.stored("n3", key)); len(got) != 1 {
		t.Fatalf("the cut-off node holds %v, want the old value", got)
	}
	// The cut-off node restarts with the old value on disk, then heals.
	c.stop("n3")
	c.start("n3")
	c.heal()
	c.waitTrees()
	c.repairEverywhere()
	tomb := c.stored("n1", key)
	if !tomb.Deleted() {
		t.Fatalf("n1 holds %+v, want a tombstone", tomb)
	}
	c.assertDeleted(key, tomb)

	c.stop("n3")
	c.start("n3")
	c.waitTrees()
	c.assertDeleted(key, tomb)

	// Inside the grace period nothing is reaped.
	c.clock.Advance(23 * time.Hour)
	c.repairEverywhere()
	for _, id := range c.ids {
		if !c.stored(id, key).Equal(tomb) {
			t.Fatalf("%s reaped (or changed) the tombstone inside the grace period", id)
		}
	}
	c.clock.Advance(2 * time.Hour)
	c.repairEverywhere()
	for _, id := range c.ids {
		if got := c.stored(id, key); got != nil {
			t.Errorf("%s still holds %+v after the grace period", id, got)
		}
		if reaped := c.nodes[id].ae.Status().TombstonesReaped; reaped != 1 {
			t.Errorf("%s counts %d tombstones reaped, want 1", id, reaped)
		}
	}
	for _, id := range c.ids {
		for r := 1; r <= 3; r++ {
			if s, err := c.get(id, key, r); err != nil || !s.IsEmpty() {
				t.Errorf("read at %s with r=%d after the reap: %+v, %v; want not found", id, r, s, err)
			}
		}
	}
	// A write after the reap is fresh: replicas that reaped take it.
	if _, err := c.put("n2", key, "again", nil, 3); err != nil {
		t.Fatal(err)
	}
	for _, id := range c.ids {
		if got := visible(c.stored(id, key)); len(got) != 1 || got[0] != "again" {
			t.Errorf("%s holds %v after a write following the reap, want [again]", id, got)
		}
	}
}

// Under delete churn storage does not grow: every deleted key is reaped,
// including those deleted while a primary was cut off.
func TestDeleteChurnDoesNotGrowStorage(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitTrees()
	for round := range 3 {
		if round == 1 {
			c.isolate("n2")
		}
		for i := range 30 {
			k := fmt.Sprintf("churn-%d-%d", round, i)
			at := "n1"
			s, err := c.put(at, k, "v", nil, 2)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.del(at, k, s.Context(), 2); err != nil {
				t.Fatal(err)
			}
		}
		c.heal()
		c.repairEverywhere()
		c.clock.Advance(25 * time.Hour)
		// The jump also makes every tree due for a rebuild, and a
		// partition being rebuilt is reaped at its next exchange.
		left := map[string]int{}
		if !testutil.Poll(convergeWithin, func() bool {
			c.repairEverywhere()
			clear(left)
			for _, id := range c.ids {
				if n := c.storedKeys(id); n != 0 {
					left[id] = n
				}
			}
			return len(left) == 0
		}) {
			t.Fatalf("round %d: keys still stored after every delete's grace period, by node: %v", round, left)
		}
	}
}

// A tombstone is not reaped while a primary is down, however old it is:
// the down primary may hold the value the delete removed.
func TestTombstonesWaitForEveryPrimary(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitTrees()
	const key = "k"
	s, err := c.put("n1", key, "v", nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.del("n1", key, s.Context(), 3); err != nil {
		t.Fatal(err)
	}
	tomb := c.stored("n1", key)
	first := c.primaries(key)[0]
	down := c.primaries(key)[2]
	c.stop(down)
	c.clock.Advance(48 * time.Hour)
	c.repair(first)
	for _, id := range c.ids {
		if id != down && !c.stored(id, key).Equal(tomb) {
			t.Fatalf("%s reaped the tombstone while primary %s was down", id, down)
		}
	}
	c.start(down)
	c.waitTrees()
	c.repair(first)
	for _, id := range c.ids {
		if got := c.stored(id, key); got != nil {
			t.Errorf("%s still holds %+v once every primary was back", id, got)
		}
	}
}

// assertDeleted checks that every node stores exactly tomb and that reads
// at every node and level find the key deleted, with the tombstone's
// context.
func (c *cluster) assertDeleted(key string, tomb *versioning.Set) {
	c.t.Helper()
	for _, id := range c.ids {
		if got := c.stored(id, key); !got.Equal(tomb) {
			c.t.Errorf("%s stores %+v, want the tombstone", id, got)
		}
		for r := 1; r <= 3; r++ {
			s, err := c.get(id, key, r)
			if err != nil || !s.Deleted() || !s.Context().Equal(tomb.Context()) {
				c.t.Errorf("read at %s with r=%d: %+v, %v; want deleted with the tombstone's context", id, r, s, err)
			}
		}
	}
}
