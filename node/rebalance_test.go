package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
	"dynakv/node"
	"dynakv/transport"
	"dynakv/versioning"
)

// joinConfig is the config of a new node id that joins the cluster through n1.
func (c *testCluster) joinConfig(id string) node.Config {
	cfg := c.cfgs["n1"]
	cfg.ID = id
	cfg.DataDir = filepath.Join(c.dir, id)
	cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Join = []string{c.nodes["n1"].GossipAddr()}
	return cfg
}

// allPrimariesHold waits until every primary of every key holds exactly
// value-<key>, as /debug/replicas reports it (no client read, so no read
// repair helps).
func (c *testCluster) allPrimariesHold(at string, keys []string) {
	c.t.Helper()
	testutil.Eventually(c.t, 30*time.Second, "every primary of every key to hold it", func() bool {
		for _, k := range keys {
			view, err := c.clients[at].Replicas(context.Background(), k)
			if err != nil {
				return false
			}
			for _, r := range view.Replicas {
				if r.Role == "primary" && (r.Status != "ok" || len(r.Siblings) != 1 || string(r.Siblings[0].Value) != "v-"+k) {
					return false
				}
			}
		}
		return true
	})
}

// heldBy counts, per node, the keys it stores as a primary, as
// /debug/replicas reports them.
func (c *testCluster) heldBy(at string, keys []string) (map[string]int, error) {
	held := map[string]int{}
	for _, k := range keys {
		view, err := c.clients[at].Replicas(context.Background(), k)
		if err != nil {
			return nil, err
		}
		for _, r := range view.Replicas {
			if r.Role == "primary" && r.Status == "ok" && len(r.Siblings) > 0 {
				held[r.Node]++
			}
		}
	}
	return held, nil
}

// waitShares waits until each of members holds its share of keys: within
// 25% of len(keys) x N / len(members).
func (c *testCluster) waitShares(keys []string, members ...string) {
	c.t.Helper()
	want := float64(len(keys)) * float64(min(3, len(members))) / float64(len(members))
	var last map[string]int
	ok := testutil.Poll(60*time.Second, func() bool {
		held, err := c.heldBy(members[0], keys)
		if err != nil {
			return false
		}
		last = held
		for _, id := range members {
			if d := float64(held[id]) - want; d > 0.25*want || d < -0.25*want {
				return false
			}
		}
		return true
	})
	if !ok {
		c.t.Fatalf("key shares of %d keys over %v: %v; want each within 25%% of %.0f", len(keys), members, last, want)
	}
	c.t.Logf("key shares of %d keys over %v: %v (ideal %.0f)", len(keys), members, last, want)
}

// preload writes every key with 8 writers, through the node at(i) for the
// i-th key, and fails the test on the first error.
func (c *testCluster) preload(keys []string, at func(i int) string, value func(k string) string, l client.Levels) {
	c.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(keys); i += 8 {
				if err := c.put(at(i), keys[i], value(keys[i]), "", l); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		c.t.Fatalf("preload: %v", err)
	}
}

// Joins, a leave and a remove move the data with the ring: every primary of
// every key holds it afterwards, without reads or anti-entropy.
func TestRingChangesMoveTheData(t *testing.T) {
	c := startCluster(t, 3)
	var keys []string
	for i := range 80 {
		k := fmt.Sprintf("moving-%d", i)
		keys = append(keys, k)
		if err := c.put("n1", k, "v-"+k, "", client.Levels{W: "all"}); err != nil {
			t.Fatal(err)
		}
	}
	c.start(c.joinConfig("n4"))
	c.start(c.joinConfig("n5"))
	c.waitRing("n1", "n2", "n3", "n4", "n5")
	start := time.Now()
	c.allPrimariesHold("n1", keys)
	t.Logf("joins: data in place %v after the ring converged", time.Since(start))

	c.stop("n2")
	c.waitStatus("n1", "n2", gossip.StatusDead)
	if _, err := c.clients["n1"].Remove(context.Background(), "n2"); err != nil {
		t.Fatal(err)
	}
	delete(c.nodes, "n2")
	c.waitRing("n1", "n3", "n4", "n5")
	start = time.Now()
	c.allPrimariesHold("n3", keys)
	t.Logf("remove: data in place %v after the ring converged", time.Since(start))
}

// Writes go on at w=quorum while two nodes join, one leaves and a killed one
// is removed: every acknowledged write is readable at the end, and every
// node holds its share of the keys.
func TestEveryAcknowledgedWriteSurvivesRingChangesUnderLoad(t *testing.T) {
	c := startCluster(t, 3)
	// Enough keys, written before the ring changes, that each node's count
	// measures its share rather than chance.
	var preloaded []string
	for i := range 600 {
		preloaded = append(preloaded, fmt.Sprintf("pre-%d", i))
	}
	ids := c.ids()
	c.preload(preloaded, func(i int) string { return ids[i%3] }, func(k string) string { return "v-" + k }, client.Levels{W: "all"})
	ctx, stop := context.WithCancel(context.Background())
	var (
		mu     sync.Mutex
		acked  []string
		writes sync.WaitGroup
	)
	// The writers stop with the test, also when it fails midway.
	t.Cleanup(func() { stop(); writes.Wait() })
	for w := range 4 {
		writes.Add(1)
		go func() {
			defer writes.Done()
			for i := 0; ctx.Err() == nil; i++ {
				k := fmt.Sprintf("load-%d-%d", w, i)
				mu.Lock()
				at := c.ids()[i%len(c.ids())]
				cl, up := c.clients[at], c.nodes[at] != nil
				mu.Unlock()
				if !up {
					continue
				}
				if _, err := cl.Put(ctx, k, []byte("v-"+k), "text/plain", "", client.Levels{W: "quorum"}); err == nil {
					mu.Lock()
					acked = append(acked, k)
					mu.Unlock()
				}
			}
		}()
	}
	join := func(id string) {
		cfg := c.joinConfig(id)
		mu.Lock()
		c.start(cfg)
		mu.Unlock()
	}
	join("n4")
	join("n5")
	c.waitRing("n1", "n2", "n3", "n4", "n5")
	c.waitShares(preloaded, "n1", "n2", "n3", "n4", "n5")
	// No node keeps data it no longer owns: the copies it moved out were
	// dropped once their new owners had them.
	for _, id := range []string{"n1", "n2", "n3"} {
		testutil.Eventually(t, 30*time.Second, id+" to hold no partition it does not own", func() bool {
			st, err := c.clients[id].Status(context.Background())
			return err == nil && st.Transfers.PendingPartitions == 0
		})
	}

	if _, err := c.clients["n3"].Leave(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.nodes["n3"].Done():
	case <-time.After(2 * time.Minute):
		t.Fatal("n3 did not finish leaving")
	}
	mu.Lock()
	c.stop("n3")
	delete(c.nodes, "n3")
	mu.Unlock()
	c.waitRing("n1", "n2", "n4", "n5")

	mu.Lock()
	c.stop("n2")
	mu.Unlock()
	c.waitStatus("n1", "n2", gossip.StatusDead)
	if _, err := c.clients["n1"].Remove(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	delete(c.nodes, "n2")
	mu.Unlock()
	c.waitRing("n1", "n4", "n5")
	// Keep writing until enough writes were acknowledged, however slow this
	// machine is today; the later ones land on the final ring.
	testutil.Eventually(t, 60*time.Second, "150 acknowledged writes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 150
	})
	stop()
	writes.Wait()
	c.waitShares(preloaded, "n1", "n4", "n5")
	start := time.Now()
	testutil.Eventually(t, 60*time.Second, "every node to hold every key", func() bool {
		held, err := c.heldBy("n1", preloaded)
		return err == nil && held["n1"] == 600 && held["n4"] == 600 && held["n5"] == 600
	})
	t.Logf("all 600 on each node %v later", time.Since(start))
	for _, k := range append(acked, preloaded...) {
		obj, err := c.get("n4", k, client.Levels{R: "quorum"})
		if err != nil || len(obj.Siblings) != 1 || string(obj.Siblings[0].Value) != "v-"+k {
			t.Fatalf("acknowledged write %s: %v, %v", k, values(obj), err)
		}
	}
	t.Logf("%d acknowledged writes, all readable after two joins, a leave and a remove", len(acked))
}

// Reads keep finding every key while the ring changes under them and its
// data is still moving: two nodes join a cluster whose transfers crawl (a
// few bytes a second past the first burst, anti-entropy as slow), and every
// key is read first through a newcomer at r=one, then at r=quorum, from
// every node.
func TestReadsFindEveryKeyWhileItsDataMoves(t *testing.T) {
	c := startClusterWith(t, 3, func(cfg *node.Config) {
		cfg.TransferRate = 16 // bytes/s: past the limiter's 2 MiB burst, a transfer stalls
		cfg.AAERate = 1
	})
	// 6 MiB in all, so every old node's transfers outlast the burst.
	value := string(make([]byte, 24<<10))
	var keys []string
	for i := range 256 {
		keys = append(keys, fmt.Sprintf("moving-%d", i))
	}
	ids := c.ids()
	c.preload(keys, func(i int) string { return ids[i%3] }, func(k string) string { return value + k }, client.Levels{W: "all"})
	c.start(c.joinConfig("n4"))
	c.start(c.joinConfig("n5"))
	c.waitRing("n1", "n2", "n3", "n4", "n5")

	held, err := c.heldBy("n1", keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copies on the primaries while transfers crawl: %v (all there: %d each)", held, len(keys)*3/5)
	for _, levels := range []client.Levels{{R: "one"}, {R: "quorum"}} {
		for _, at := range []string{"n4", "n5", "n1", "n2", "n3"} {
			for _, k := range keys {
				obj, err := c.get(at, k, levels)
				if err != nil || len(obj.Siblings) != 1 || string(obj.Siblings[0].Value) != value+k {
					t.Fatalf("get %s at r=%s through %s while data moves: %v", k, levels.R, at, err)
				}
			}
		}
	}
}

// A node restarted in the middle of handing a partition set to a newcomer
// resumes where it stopped: it does not send again the partitions it
// finished before, and the newcomer ends up with every key.
func TestATransferResumesAfterARestart(t *testing.T) {
	c := startClusterWith(t, 1, func(cfg *node.Config) {
		cfg.Replicas = 2
		cfg.TransferRate = 512 << 10 // past the 2 MiB burst, about 8 s for the rest
	})
	value := string(make([]byte, 16<<10))
	var keys []string
	for i := range 384 { // 6 MiB
		keys = append(keys, fmt.Sprintf("resume-%d", i))
	}
	c.preload(keys, func(int) string { return "n1" }, func(string) string { return value }, client.Levels{})
	c.start(c.joinConfig("n2"))
	c.waitRing("n1", "n2")
	// Stop n1 once a good part, not all, went out.
	testutil.Eventually(t, 30*time.Second, "n1 to send a quarter of the keys", func() bool {
		st, err := c.clients["n1"].Status(context.Background())
		return err == nil && st.Transfers.KeysSent >= int64(len(keys)/4)
	})
	before, _ := c.clients["n1"].Status(context.Background())
	cfg := c.cfgs["n1"]
	c.stop("n1")
	if before.Transfers.KeysSent >= int64(len(keys)) {
		t.Fatalf("n1 sent all %d keys before it stopped; the test needs it stopped midway", before.Transfers.KeysSent)
	}
	c.start(cfg)
	testutil.Eventually(t, 60*time.Second, "n2 to hold every key", func() bool {
		held, err := c.heldBy("n2", keys)
		return err == nil && held["n2"] == len(keys)
	})
	after, err := c.clients["n1"].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("n1 sent %d keys before its restart and %d after, of %d", before.Transfers.KeysSent, after.Transfers.KeysSent, len(keys))
	if after.Transfers.KeysSent > int64(len(keys))-before.Transfers.KeysSent/2 {
		t.Errorf("after the restart n1 sent %d keys: it started over instead of resuming", after.Transfers.KeysSent)
	}
}

// waitSettled waits until no node has data to hand off or a ring change
// whose data has not settled.
func (c *testCluster) waitSettled() {
	c.t.Helper()
	testutil.Eventually(c.t, 30*time.Second, "every node to settle", func() bool {
		for _, id := range c.ids() {
			if c.nodes[id] == nil {
				continue
			}
			st, err := c.clients[id].Status(context.Background())
			if err != nil || st.Transfers.Settling || st.Transfers.PendingPartitions > 0 {
				return false
			}
		}
		return true
	})
}

// A coordinator whose ring lags (the moment after a join, leave or remove)
// writes to the primaries of its ring. A node among them that does not own
// the key under its own ring keeps the write (it was acknowledged) and moves
// it to the key's owners at once, not at its next periodic pass, which is an
// hour away here: reads through up-to-date nodes find it within a pass.
func TestAStrayWriteReachesTheKeysOwnersAtOnce(t *testing.T) {
	start := time.Now()
	c := startClusterWith(t, 4, func(cfg *node.Config) { cfg.RebalanceInterval = time.Hour })
	c.waitSettled()
	t.Logf("four nodes formed and settled in %v", time.Since(start))

	// A key that n4 is not a primary of (with four nodes and N=3, each key
	// has exactly one such node).
	var key string
	var partition uint32
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("stray-%d", i)
		pl, err := c.clients["n1"].Preflist(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(pl.Primaries, func(p client.PreflistNode) bool { return p.ID == "n4" }) {
			key, partition = k, pl.Partition
		}
	}

	// The stale coordinator's replicate call, as it sends it.
	members, err := c.clients["n1"].Members(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	peers, err := transport.NewClient(transport.ClientConfig{Resolver: transport.ResolverFunc(func(id string) (string, bool) {
		i := slices.IndexFunc(members, func(m client.Member) bool { return m.ID == id })
		if i < 0 {
			return "", false
		}
		return members[i].RPCAddr, true
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer peers.Close()
	ev := versioning.Event{Dot: versioning.Dot{Actor: versioning.NewActor("stale", 1), Counter: 1}, Modified: time.Now().UnixMicro()}
	state, err := (*versioning.Set)(nil).Update(nil, ev, versioning.Sibling{Value: []byte("v-" + key), ContentType: "text/plain"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := peers.Replicate(context.Background(), "n4", partition, []byte(key), state); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	c.allPrimariesHold("n1", []string{key})
	t.Logf("the stray write reached its owners in %v", time.Since(start))
	testutil.Eventually(t, 30*time.Second, "n4 to drop the key it handed off", func() bool {
		st, err := c.clients["n4"].Status(context.Background())
		return err == nil && st.Transfers.PendingPartitions == 0
	})
	o, err := c.get("n2", key, client.Levels{R: "1"})
	if err != nil || !slices.Equal(values(o), []string{"v-" + key}) {
		t.Fatalf("read at r=1 through n2: %v, %v; want v-%s", values(o), err, key)
	}

	// A stream of stray writes (as a node receiving a leaving node's data
	// gets) shares passes: at most one starts per 200 ms, not one a write.
	before, err := c.clients["n4"].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start = time.Now()
	for i := range 60 {
		<-tick.C
		next := versioning.Event{Dot: versioning.Dot{Actor: ev.Dot.Actor, Counter: uint64(i) + 2}, Modified: time.Now().UnixMicro()}
		if state, err = state.Update(state.Context(), next, versioning.Sibling{Value: []byte("v-" + key), ContentType: "text/plain"}, 0); err != nil {
			t.Fatal(err)
		}
		if err := peers.Replicate(context.Background(), "n4", partition, []byte(key), state); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	c.allPrimariesHold("n1", []string{key})
	after, err := c.clients["n4"].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	passes, most := after.Transfers.Passes-before.Transfers.Passes, int64(elapsed/(200*time.Millisecond))+2
	t.Logf("60 stray writes in %v: %d passes", elapsed, passes)
	if passes > most {
		t.Fatalf("60 stray writes in %v started %d passes, want at most %d", elapsed, passes, most)
	}
}

// After a ring change, a node reports settling in /cluster/status until its
// data settled. Here n4 joins while n3 is down: n1 keeps the keys of the
// partitions it no longer owns until every new primary, n3 among them, can
// take them, so it reports settling for as long as n3 is down, and stops
// once n3 is back and the data moved.
func TestStatusReportsSettlingUntilTheDataSettles(t *testing.T) {
	c := startCluster(t, 3)
	var keys []string
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("settling-%d", i))
	}
	c.preload(keys, func(int) string { return "n1" }, func(k string) string { return "v-" + k }, client.Levels{W: "all"})
	c.waitSettled()
	c.stop("n3")
	c.waitStatus("n1", "n3", gossip.StatusDead)
	c.start(c.joinConfig("n4"))
	c.waitRing("n1", "n2", "n3", "n4")
	settling := func(id string) bool {
		st, err := c.clients[id].Status(context.Background())
		return err == nil && st.Transfers.Settling
	}
	testutil.Eventually(t, 15*time.Second, "n1 to report settling", func() bool { return settling("n1") })
	if testutil.Poll(time.Second, func() bool { return !settling("n1") }) {
		t.Fatal("n1 settled with a primary down")
	}
	c.start(c.cfgs["n3"])
	c.waitSettled()
	c.allPrimariesHold("n1", keys)
}
