package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"dynakv/api"
	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
)

// A node that lost its data folder comes back empty; POST /cluster/repair
// on it refills every key from the other replicas (no hint or read could:
// nothing was written while it was away), and GET /cluster/antientropy
// shows the repair and its keys.
func TestRepairRefillsANodeThatLostItsData(t *testing.T) {
	c := startCluster(t, 3)
	const keys = 30
	for i := range keys {
		if err := c.put("n1", fmt.Sprintf("k%d", i), "v", "", client.Levels{W: "all"}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := c.cfgs["n3"]
	c.stop("n3")
	if err := os.RemoveAll(cfg.DataDir); err != nil {
		t.Fatal(err)
	}
	cfg.Join = []string{c.nodes["n1"].GossipAddr()}
	c.start(cfg)
	c.waitStatus("n1", "n3", gossip.StatusAlive)
	c.waitStatus("n3", "n1", gossip.StatusAlive)
	c.waitStatus("n3", "n2", gossip.StatusAlive)
	for _, id := range c.ids() {
		testutil.Eventually(t, 15*time.Second, id+"'s hash trees to be built", func() bool {
			st := aaeStatus(t, c, id)
			return st.Partitions == 64 && st.TreesBuilt == 64
		})
	}
	// Rejoining changed n3's ring (from itself alone to the cluster's), and
	// the anti-entropy round that ends every ownership transfer may already
	// be refilling it; the explicit repair below must finish the job.
	t.Logf("the wiped node holds %d keys before the repair", keys-keysMissingOn(t, c, "n3", keys))

	resp, err := http.Post("http://"+c.nodes["n3"].HTTPAddr()+"/cluster/repair", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var run api.RepairRun
	err = json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted || run.Partitions != 64 {
		t.Fatalf("POST /cluster/repair: %d, %+v, %v; want 202 and 64 partitions", resp.StatusCode, run, err)
	}
	var final api.RepairRun
	testutil.Eventually(t, 30*time.Second, "the repair to finish", func() bool {
		for _, r := range aaeStatus(t, c, "n3").Repairs {
			if r.ID == run.ID && r.Finished != nil {
				final = r
				return true
			}
		}
		return false
	})
	if final.Done != 64 || final.Failed != 0 {
		t.Fatalf("repair ended as %+v: want 64 partitions done, none failed", final)
	}
	if missing := keysMissingOn(t, c, "n3", keys); missing != 0 {
		t.Fatalf("after the repair n3 still misses %d keys", missing)
	}
}

func aaeStatus(t *testing.T, c *testCluster, id string) api.AntiEntropyStatus {
	t.Helper()
	resp, err := http.Get("http://" + c.nodes[id].HTTPAddr() + "/cluster/antientropy")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st api.AntiEntropyStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /cluster/antientropy on %s: %d, %v", id, resp.StatusCode, err)
	}
	return st
}

// keysMissingOn counts the keys k0..k<n-1> that node id does not store,
// from the unmerged view of /debug/replicas (which repairs nothing).
func keysMissingOn(t *testing.T, c *testCluster, id string, n int) int {
	t.Helper()
	missing := 0
	for i := range n {
		view, err := c.clients["n1"].Replicas(context.Background(), fmt.Sprintf("k%d", i))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range view.Replicas {
			if r.Node == id && r.Role == "primary" && r.Status != "ok" {
				missing++
			}
		}
	}
	return missing
}
