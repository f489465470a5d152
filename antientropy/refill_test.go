package antientropy_test

import (
	"fmt"
	"slices"
	"testing"
)

// A node restarted with a lost data folder is refilled by anti-entropy,
// and the writes it coordinates right after its return, before it was
// refilled, are kept everywhere: its new incarnation writes as a new
// actor, so its dots are new to every replica.
func TestNodeWithLostDataIsRefilledAndItsNewWritesAreKept(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitTrees()
	var keys []string
	for i := range 60 {
		k := fmt.Sprintf("k%02d", i)
		keys = append(keys, k)
		if _, err := c.put(c.ids[i%3], k, "old-"+k, nil, 3); err != nil {
			t.Fatal(err)
		}
	}
	oldActor := c.nodes["n3"].local.Actor()
	c.stop("n3")
	c.wipe("n3")
	c.start("n3")
	if c.nodes["n3"].local.Actor() == oldActor {
		t.Fatalf("n3 came back with an empty folder as the same actor %s", oldActor)
	}
	if n := c.storedKeys("n3"); n != 0 {
		t.Fatalf("the wiped node stores %d keys", n)
	}
	// Its writes reach the others only through anti-entropy.
	c.net.DropReplicate("n3", "n1", true)
	c.net.DropReplicate("n3", "n2", true)
	overwritten, fresh := keys[:10], []string{"fresh-1", "fresh-2"}
	for _, k := range overwritten {
		// The client read the key before n3 lost its data: its context
		// covers the old write, so the new one supersedes it.
		if _, err := c.put("n3", k, "new-"+k, c.stored("n1", k).Context(), 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range fresh {
		if _, err := c.put("n3", k, "v-"+k, nil, 1); err != nil {
			t.Fatal(err)
		}
	}

	c.waitTrees()
	c.repair("n3")
	for _, id := range c.ids {
		for _, k := range keys {
			want := []string{"old-" + k}
			if slices.Contains(overwritten, k) {
				want = []string{"new-" + k}
			}
			if got := visible(c.stored(id, k)); !slices.Equal(got, want) {
				t.Errorf("%s on %s: %v, want %v", k, id, got, want)
			}
		}
		for _, k := range fresh {
			if got := visible(c.stored(id, k)); !slices.Equal(got, []string{"v-" + k}) {
				t.Errorf("%s on %s: %v, want [v-%s]", k, id, got, k)
			}
		}
	}
	if n := c.storedKeys("n3"); n != len(keys)+len(fresh) {
		t.Errorf("n3 stores %d keys after the refill, want %d", n, len(keys)+len(fresh))
	}
}
