package node_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
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
// clients write. Restarted on those disks, the cluster has every write it
// acknowledged: a quorum write is synced on a quorum before its ack.
func TestAPowerCutOfTheWholeClusterLosesNoAcknowledgedWrite(t *testing.T) {
	disks := map[string]*vfs.MemFS{}
	c := startClusterWith(t, 3, func(cfg *node.Config) {
		disks[cfg.ID] = vfs.NewCrashableMem()
		cfg.StorageFS = disks[cfg.ID]
		cfg.Sync = true
	})
	var (
		mu    sync.Mutex
		acked = map[string]string{}
		count atomic.Int64
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids := c.ids()
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for i := 0; ctx.Err() == nil; i++ {
				key, value := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("v%d-%d", w, i)
				cl := c.clients[ids[rng.IntN(len(ids))]]
				if _, err := cl.Put(ctx, key, []byte(value), "text/plain", "", client.Levels{W: "quorum"}); err != nil {
					continue
				}
				mu.Lock()
				acked[key] = value
				mu.Unlock()
				count.Add(1)
			}
		}()
	}
	testutil.Eventually(t, 30*time.Second, "300 acknowledged writes", func() bool { return count.Load() >= 300 })
	// The power goes: everything acknowledged so far must survive.
	mu.Lock()
	before := make(map[string]string, len(acked))
	for k, v := range acked {
		before[k] = v
	}
	mu.Unlock()
	crashed := map[string]*vfs.MemFS{}
	for _, id := range ids {
		crashed[id] = disks[id].CrashClone(vfs.CrashCloneCfg{})
	}
	cancel()
	wg.Wait()
	for _, id := range ids {
		c.stop(id)
	}
	for _, id := range ids {
		cfg := c.cfgs[id]
		cfg.StorageFS = crashed[id]
		c.start(cfg)
	}
	c.waitRing(ids...)
	for k, want := range before {
		obj, err := c.get("n1", k, client.Levels{R: "quorum"})
		if err != nil || !obj.Found || len(obj.Siblings) != 1 || string(obj.Siblings[0].Value) != want {
			t.Fatalf("acknowledged %s = %s after the power cut: %+v, %v", k, want, obj, err)
		}
	}
	t.Logf("%d acknowledged writes survived the power cut", len(before))
}
