package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
)

// A primary is killed, writes go on with w=quorum, the fallback holding the
// hints is restarted before it could deliver them, then the primary comes
// back: every write reaches the primary's own copy through hinted handoff,
// with no client read in between.
func TestHintsSurviveTheirHoldersRestartAndReachTheReturningPrimary(t *testing.T) {
	c := startCluster(t, 4)
	ctx := context.Background()
	down := "n4"
	var keys []string
	for i := 0; len(keys) < 10; i++ {
		k := fmt.Sprintf("hinted-%d", i)
		pl, err := c.clients["n1"].Preflist(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(pl.Primaries, func(p client.PreflistNode) bool { return p.ID == down }) {
			keys = append(keys, k)
		}
	}
	downCfg := c.cfgs[down]
	c.stop(down)
	for _, id := range []string{"n1", "n2", "n3"} {
		c.waitStatus(id, down, gossip.StatusDead)
	}
	for _, k := range keys {
		if err := c.put("n1", k, "v-"+k, "", client.Levels{W: "quorum"}); err != nil {
			t.Fatalf("write %s with %s down: %v", k, down, err)
		}
	}
	// Find the fallbacks holding the hints, and restart them before the
	// primary is back.
	holders := map[string]bool{}
	for _, k := range keys {
		view, err := c.clients["n1"].Replicas(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range view.Replicas {
			if r.Role == "fallback" && r.HintFor == down {
				holders[r.Node] = true
			}
		}
	}
	if len(holders) == 0 {
		t.Fatal("no fallback shows a hint for the down primary in /debug/replicas")
	}
	for id := range holders {
		cfg := c.cfgs[id]
		c.stop(id)
		c.start(cfg)
	}
	c.start(downCfg)
	testutil.Eventually(t, 30*time.Second, "every hinted write to reach "+down+"'s own copy", func() bool {
		for _, k := range keys {
			view, err := c.clients["n1"].Replicas(ctx, k)
			if err != nil {
				return false
			}
			ok := false
			for _, r := range view.Replicas {
				if r.Node == down && r.Role == "primary" && r.Status == "ok" && len(r.Siblings) == 1 && string(r.Siblings[0].Value) == "v-"+k {
					ok = true
				}
			}
			if !ok {
				return false
			}
		}
		return true
	})
}
