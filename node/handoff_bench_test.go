package node_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
	"dynakv/node"
)

// BenchmarkJoinHandoff measures the hand-off of issue #6: a node holding
// BENCH_HANDOFF_MB MiB (default 64; 1024 for the figure) in 64 KiB
// values is joined by a second node with N=2, so the newcomer becomes a
// primary of every partition and receives all of it. It reports the
// hand-off's MB/s (from the join until the first node counts every key as
// acknowledged by the newcomer) and, as the same run's baseline, the MB/s of
// loading the same data through the HTTP API. The transfer rate is
// unlimited here (the default --transfer-rate caps it at 100 MiB/s).
func BenchmarkJoinHandoff(b *testing.B) {
	mib := 64
	if v, err := strconv.Atoi(os.Getenv("BENCH_HANDOFF_MB")); err == nil && v > 0 {
		mib = v
	}
	const valueSize = 64 << 10
	keys := mib << 20 / valueSize
	for b.Loop() {
		dir := b.TempDir()
		cfg := func(id string) node.Config {
			c := node.DefaultConfig()
			c.ID, c.DataDir = id, filepath.Join(dir, id)
			c.HTTPAddr, c.GossipAddr, c.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			c.Replicas = 2
			c.Sync = true
			c.TransferRate = 0
			c.AAEInterval = 0
			c.GossipTuning = gossip.FastTimings
			c.Logger = slog.New(slog.DiscardHandler)
			return c
		}
		n1, err := node.Start(cfg("n1"))
		if err != nil {
			b.Fatal(err)
		}
		c1, _ := client.New("http://" + n1.HTTPAddr())

		value := make([]byte, valueSize)
		for i := range value {
			value[i] = byte(i * 7)
		}
		loadStart := time.Now()
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < keys; i += 16 {
					if _, err := c1.Put(context.Background(), fmt.Sprintf("k%07d", i), value, "application/octet-stream", "", client.Levels{}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		loadTook := time.Since(loadStart)

		joinCfg := cfg("n2")
		joinCfg.Join = []string{n1.GossipAddr()}
		start := time.Now()
		n2, err := node.Start(joinCfg)
		if err != nil {
			b.Fatal(err)
		}
		var st *client.NodeStatus
		testutil.Eventually(b, 30*time.Minute, "the newcomer to hold every key", func() bool {
			st, err = c1.Status(context.Background())
			return err == nil && st.Transfers.KeysSent >= int64(keys)
		})
		took := time.Since(start)
		b.ReportMetric(float64(st.Transfers.BytesSent)/1e6/took.Seconds(), "handoff-MB/s")
		b.ReportMetric(float64(keys*valueSize)/1e6/loadTook.Seconds(), "load-MB/s")
		b.ReportMetric(took.Seconds(), "handoff-s")
		b.ReportMetric(float64(st.Transfers.BytesSent)/(1<<20), "handoff-MiB")
		n2.Close()
		n1.Close()
	}
}
