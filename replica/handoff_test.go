package replica_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"dynakv/internal/testutil"
	"dynakv/replica"
)

// A primary is down while writes go on with w=quorum: fallbacks keep hints,
// and once the primary is back every write reaches its own storage through
// hinted handoff alone, with no read in between.
func TestHintedHandoffBringsAReturningPrimaryUpToDate(t *testing.T) {
	c := newCluster(t, 5)
	down := "n2"
	var keys []string
	for i := 0; len(keys) < 20; i++ {
		if k := fmt.Sprintf("hk-%d", i); slices.Contains(c.primaries(k), down) {
			keys = append(keys, k)
		}
	}
	c.kill(down)
	for _, k := range keys {
		at := c.primaries(k)[0]
		if at == down {
			at = c.primaries(k)[1]
		}
		// w=all would need the down node; with a fallback standing in, the
		// sloppy quorum still has three acks, two of them primaries.
		if _, err := c.put(at, k, "v-"+k, nil, replica.WriteOptions{W: 3, PW: 2}); err != nil {
			t.Fatalf("write %s with %s down: %v", k, down, err)
		}
		if got := c.stored(down, k); len(got) != 0 {
			t.Fatalf("the down node already has %s: %v", k, got)
		}
	}
	pending := 0
	for id, h := range c.hints {
		n, _ := h.Pending(down)
		if id != down {
			pending += n
		}
	}
	if pending == 0 {
		t.Fatal("no fallback holds a hint for the down node")
	}
	var pw *replica.UnavailableError
	at := slices.DeleteFunc(slices.Clone(c.primaries(keys[0])), func(id string) bool { return id == down })[0]
	if _, err := c.put(at, keys[0], "x", nil, replica.WriteOptions{W: 1, PW: 3}); !asUnavailable(err, &pw) {
		t.Fatalf("pw=all with a primary down: %v, want unavailable (fallbacks never count toward pw)", err)
	}

	c.revive(down)
	testutil.Eventually(t, 10*time.Second, "every hinted write to reach the returning primary", func() bool {
		for _, k := range keys {
			if !slices.Equal(c.stored(down, k), []string{"v-" + k}) {
				return false
			}
		}
		return true
	})
	testutil.Eventually(t, 10*time.Second, "delivered hints to be deleted", func() bool {
		for _, h := range c.hints {
			if n, _ := h.Pending(down); n != 0 {
				return false
			}
		}
		return true
	})
}

// Both sides of a partition take w=one writes for the same key; after the
// partition heals, hinted handoff alone gives every primary both siblings
// (fallbacks keep hints for the primaries across the cut, and a coordinator
// keeps them itself for primaries no fallback stands in for).
func TestPartitionBothSidesWriteAndHandoffConvergesEveryReplica(t *testing.T) {
	for _, cut := range [][2][]string{
		{{"n1"}, {"n2", "n3", "n4", "n5"}}, // one node partitioned away
		{{"n1", "n2"}, {"n3", "n4", "n5"}}, // a minority of two
	} {
		t.Run(fmt.Sprint(cut[0]), func(t *testing.T) {
			c := newCluster(t, 5)
			minority, majority := cut[0], cut[1]
			key := splitKey(c, minority, majority)
			base, err := c.put(majority[0], key, "base", nil, replica.WriteOptions{W: 3})
			if err != nil {
				t.Fatal(err)
			}
			c.partition(minority, majority)
			if _, err := c.put(minority[0], key, "left", base.Context(), replica.WriteOptions{W: 1}); err != nil {
				t.Fatalf("w=one on the minority side: %v", err)
			}
			if _, err := c.put(majority[len(majority)-1], key, "right", base.Context(), replica.WriteOptions{W: 1}); err != nil {
				t.Fatalf("w=one on the majority side: %v", err)
			}
			c.heal()
			testutil.Eventually(t, 10*time.Second, "every primary to hold both siblings", func() bool {
				for _, p := range c.primaries(key) {
					if !slices.Equal(c.stored(p, key), []string{"left", "right"}) {
						return false
					}
				}
				return true
			})
		})
	}
}

// A minority that holds no primary of a key still takes w=one through
// fallbacks, and the primaries get the write when the partition heals.
func TestMinorityWithoutPrimariesAcceptsWriteOne(t *testing.T) {
	c := newCluster(t, 5)
	var key string
	var minority, majority []string
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("far-%d", i)
		p := c.primaries(k)
		var rest []string
		for _, id := range c.ids {
			if !slices.Contains(p, id) {
				rest = append(rest, id)
			}
		}
		key, minority, majority = k, rest, p
	}
	c.partition(minority, majority)
	if _, err := c.put(minority[0], key, "from-the-minority", nil, replica.WriteOptions{W: 1}); err != nil {
		t.Fatalf("w=one on a minority with no primary of the key: %v", err)
	}
	var unavailable *replica.UnavailableError
	if _, err := c.put(minority[0], key, "q", nil, replica.WriteOptions{W: 3}); !asUnavailable(err, &unavailable) {
		t.Fatalf("w=3 on a two-node minority: %v, want unavailable", err)
	}
	c.heal()
	testutil.Eventually(t, 10*time.Second, "the primaries to get the minority's write", func() bool {
		for _, p := range majority {
			if !slices.Contains(c.stored(p, key), "from-the-minority") {
				return false
			}
		}
		return true
	})
}

// A read that finds a stale replica answers without waiting for the repair,
// and the repair lands afterwards; with r=all the repair is done before the
// read returns.
func TestReadRepair(t *testing.T) {
	c := newCluster(t, 3)
	base, err := c.put("n1", "k", "old", nil, replica.WriteOptions{W: 3})
	if err != nil {
		t.Fatal(err)
	}
	// n3 misses the next write behind everyone's back: a dropped message
	// still "acks", so w=3 returns only once n3's copy was dropped.
	c.net.DropReplicate("n1", "n3", true)
	if _, err := c.put("n1", "k", "new", base.Context(), replica.WriteOptions{W: 3}); err != nil {
		t.Fatal(err)
	}
	c.net.DropReplicate("n1", "n3", false)
	if got := c.stored("n3", "k"); !slices.Equal(got, []string{"old"}) {
		t.Fatalf("setup: n3 holds %v, want the stale [old]", got)
	}

	// n3's answer (and so its repair) is slowed down; the client does not wait.
	c.net.SetDelay("n2", "n3", 300*time.Millisecond)
	got, err := c.get("n2", "k", replica.ReadOptions{R: 2})
	if err != nil || !slices.Equal(values(got), []string{"new"}) {
		t.Fatalf("r=2 read: %v, %v", values(got), err)
	}
	if stale := c.stored("n3", "k"); !slices.Equal(stale, []string{"old"}) {
		t.Fatalf("the read waited for the repair of n3 (it holds %v when the read returned)", stale)
	}
	testutil.Eventually(t, 5*time.Second, "read repair to reach n3", func() bool {
		return slices.Equal(c.stored("n3", "k"), []string{"new"})
	})
	c.net.SetDelay("n2", "n3", 0)

	// r=all: divergence is repaired before the read returns.
	c.net.DropReplicate("n1", "n3", true)
	if _, err := c.put("n1", "k", "newer", got.Context(), replica.WriteOptions{W: 3}); err != nil {
		t.Fatal(err)
	}
	c.net.DropReplicate("n1", "n3", false)
	if _, err := c.get("n1", "k", replica.ReadOptions{R: 3}); err != nil {
		t.Fatal(err)
	}
	if got := c.stored("n3", "k"); !slices.Equal(got, []string{"newer"}) {
		t.Fatalf("after an r=all read, n3 holds %v, want it repaired to [newer]", got)
	}
}

func splitKey(c *cluster, a, b []string) string {
	for i := 0; ; i++ {
		k := fmt.Sprintf("split-%d", i)
		p := c.primaries(k)
		if slices.ContainsFunc(p, func(id string) bool { return slices.Contains(a, id) }) &&
			slices.ContainsFunc(p, func(id string) bool { return slices.Contains(b, id) }) {
			return k
		}
	}
}

func asUnavailable(err error, target **replica.UnavailableError) bool {
	return errors.As(err, target)
}
