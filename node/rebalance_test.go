package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
)

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
	join := func(id string) {
		cfg := c.cfgs["n1"]
		cfg.ID = id
		cfg.DataDir = filepath.Join(c.dir, id)
		cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		cfg.Join = []string{c.nodes["n1"].GossipAddr()}
		c.start(cfg)
	}
	join("n4")
	join("n5")
	c.waitRing("n1", "n2", "n3", "n4", "n5")
	start := time.Now()
	c.allPrimariesHold("n1", keys)
	t.Logf("joins: data in place %v after the ring converged", time.Since(start))

	c.stop("n2")
	c.waitStatus("n1", "n2", gossip.StatusDead)
	if err := c.clients["n1"].Remove(context.Background(), "n2"); err != nil {
		t.Fatal(err)
	}
	delete(c.nodes, "n2")
	c.waitRing("n1", "n3", "n4", "n5")
	start = time.Now()
	c.allPrimariesHold("n3", keys)
	t.Logf("remove: data in place %v after the ring converged", time.Since(start))
}
