package node_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"dynakv/client"
	"dynakv/internal/testutil"
	"dynakv/node"
)

// The whole cluster loses power at once, under load: each node's disk is
// pebble's crashable in-memory file system, and the test takes every
// node's crash clone (what a power cut leaves: only synced data) while
// clients write. n2's disk does not survive at all. Restarted, the cluster
// has every write it acknowledged: a quorum write is synced on a quorum
// before its ack, so losing one more copy leaves one. With five nodes, one
// of them down during the load, fallbacks' hints count toward the quorum,
// so they must be synced before their ack too.
func TestAPowerCutOfTheWholeClusterLosesNoAcknowledgedWrite(t *testing.T) {
	for _, tc := range []struct {
		nodes int
		down  string
	}{{3, ""}, {5, "n5"}} {
		t.Run(fmt.Sprintf("%d nodes, down: %q", tc.nodes, tc.down), func(t *testing.T) {
			powerCut(t, tc.nodes, tc.down)
		})
	}
}

func powerCut(t *testing.T, size int, down string) {
	disks := map[string]*vfs.MemFS{}
	c := startClusterWith(t, size, func(cfg *node.Config) {
		disks[cfg.ID] = vfs.NewCrashableMem()
		cfg.StorageFS = disks[cfg.ID]
		cfg.Sync = true
	})
	ids := c.ids()
	if down != "" {
		c.stop(down)
		c.waitStatus("n1", down, "dead")
	}
	var (
		acked testutil.Acks
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var up []string
	for _, id := range ids {
		if id != down {
			up = append(up, id)
		}
	}
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for i := 0; ctx.Err() == nil; i++ {
				key, value := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("v%d-%d", w, i)
				cl := c.clients[up[rng.IntN(len(up))]]
				if _, err := cl.Put(ctx, key, []byte(value), "text/plain", "", client.Levels{W: "quorum"}); err != nil {
					continue
				}
				acked.Add(key, value)
			}
		}()
	}
	testutil.Eventually(t, 30*time.Second, "300 acknowledged writes", func() bool { return acked.Len() >= 300 })
	// The power goes: everything acknowledged so far must survive.
	before := acked.Snapshot()
	crashed := map[string]*vfs.MemFS{}
	for _, id := range ids {
		crashed[id] = disks[id].CrashClone(vfs.CrashCloneCfg{})
	}
	crashed["n2"] = vfs.NewCrashableMem() // a disk lost with the power
	cancel()
	wg.Wait()
	for _, id := range up {
		c.stop(id)
	}
	for _, id := range ids {
		cfg := c.cfgs[id]
		cfg.StorageFS = crashed[id]
		c.start(cfg)
	}
	c.waitRing(ids...)
	// Copies held only as a fallback's hint reach the primaries as hints
	// are delivered.
	for k, want := range before {
		var obj *client.Object
		var err error
		if !testutil.Poll(30*time.Second, func() bool {
			obj, err = c.get("n1", k, client.Levels{R: "all"})
			return err == nil && obj.Found && len(obj.Siblings) == 1 && string(obj.Siblings[0].Value) == want
		}) {
			view, verr := c.clients["n1"].Replicas(context.Background(), k)
			t.Fatalf("acknowledged %s = %s after the power cut: %+v, %v; replicas: %+v %v", k, want, obj, err, view, verr)
		}
	}
	t.Logf("%d acknowledged writes survived the power cut", len(before))
}
