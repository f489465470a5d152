package node_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"log/slog"

	"dynakv/api"
	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
	"dynakv/node"
)

// BenchmarkClusterMixed measures the whole request path (HTTP, coordinator,
// gRPC to replicas, pebble with Sync) with the workload of issue #3: 32
// clients, 1 KiB values, 50/50 read/update, uniform keys, r=w=quorum, on a
// one-node and a three-node cluster in the same run, so the three-node
// figure reads as a ratio of the one-node one. Every node runs in this
// process, so on two cores the figures are lower than separate processes'.
func BenchmarkClusterMixed(b *testing.B) {
	for _, size := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			endpoints := startBenchCluster(b, size)
			const keys = 10000
			value := make([]byte, 1024)
			clients := make([]*client.Client, len(endpoints))
			for i, ep := range endpoints {
				clients[i], _ = client.New(ep)
			}
			ctx := context.Background()
			readPercent := 50
			if v, err := strconv.Atoi(os.Getenv("BENCH_READ_PERCENT")); err == nil {
				readPercent = v
			}
			var next atomic.Uint64
			b.SetParallelism(16) // 32 clients on 2 cores
			b.ResetTimer()
			countsStart := clusterCounts(b, endpoints)
			cpuStart := testutil.ProcessCPU(b)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				rng := rand.New(rand.NewPCG(next.Add(1), 42))
				contexts := map[string]string{}
				for pb.Next() {
					key := fmt.Sprintf("key-%06d", rng.IntN(keys))
					c := clients[rng.IntN(len(clients))]
					if rng.IntN(100) < readPercent {
						obj, err := c.Get(ctx, key, client.Levels{})
						if err != nil && !client.IsCode(err, "not_found") {
							b.Error(err)
							return
						}
						if obj != nil {
							contexts[key] = obj.Context
						}
						continue
					}
					newCtx, err := c.Put(ctx, key, value, "application/octet-stream", contexts[key], client.Levels{})
					if err != nil {
						b.Error(err)
						return
					}
					contexts[key] = newCtx
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
			// CPU per operation (every node's and the clients', all in this
			// process) varies far less between runs on a shared machine
			// than ops/s does, so it is what A/B comparisons should read.
			b.ReportMetric(float64((testutil.ProcessCPU(b)-cpuStart).Microseconds())/float64(b.N), "cpu-µs/op")
			// Where the CPU goes on this machine: each fsync and each call
			// to a peer costs a system call and wake-ups on both sides.
			counts := clusterCounts(b, endpoints)
			b.ReportMetric((counts.fsyncs-countsStart.fsyncs)/float64(b.N), "fsyncs/op")
			b.ReportMetric((counts.calls-countsStart.calls)/float64(b.N), "peer-calls/op")
		})
	}
}

// counts are cluster-wide totals from every node's /metrics.
type counts struct{ fsyncs, calls float64 }

// clusterCounts sums the WAL fsyncs and the calls to peers of every node.
func clusterCounts(b *testing.B, endpoints []string) counts {
	b.Helper()
	var c counts
	for _, ep := range endpoints {
		resp, err := http.Get(ep + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, value, _ := strings.Cut(sc.Text(), " ")
			v, _ := strconv.ParseFloat(value, 64)
			switch {
			case name == "dynakv_storage_wal_sync_seconds_count":
				c.fsyncs += v
			case strings.HasPrefix(name, "dynakv_transport_entries_per_call_count"):
				c.calls += v
			}
		}
		resp.Body.Close()
	}
	return c
}

func startBenchCluster(b *testing.B, size int) []string {
	b.Helper()
	dir := b.TempDir()
	var nodes []*node.Node
	var endpoints []string
	for i := range size {
		cfg := node.DefaultConfig()
		cfg.ID = fmt.Sprintf("n%d", i+1)
		cfg.DataDir = filepath.Join(dir, cfg.ID)
		cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		cfg.Replicas = min(3, size)
		cfg.Sync = os.Getenv("BENCH_NOSYNC") == ""
		cfg.GossipTuning = gossip.FastTimings
		cfg.Logger = slog.New(slog.DiscardHandler)
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		n, err := node.Start(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close() })
		nodes = append(nodes, n)
		endpoints = append(endpoints, "http://"+n.HTTPAddr())
	}
	c, _ := client.New(endpoints[len(endpoints)-1])
	testutil.Eventually(b, 10*time.Second, "the cluster to form", func() bool {
		info, err := c.Ring(context.Background())
		return err == nil && len(info.Members) == size
	})
	if size > 1 {
		// Each join ends with an anti-entropy round on every node; measure
		// after it, not during it.
		for _, ep := range endpoints {
			testutil.Eventually(b, 2*time.Minute, ep+"'s post-join anti-entropy round", func() bool {
				return repairsFinished(ep)
			})
		}
	}
	return endpoints
}

// repairsFinished reports whether the node at ep ran a repair and every
// repair it ran has finished.
func repairsFinished(ep string) bool {
	resp, err := http.Get(ep + "/cluster/antientropy?partitions=false")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st api.AntiEntropyStatus
	if json.NewDecoder(resp.Body).Decode(&st) != nil || len(st.Repairs) == 0 {
		return false
	}
	for _, r := range st.Repairs {
		if r.Finished == nil {
			return false
		}
	}
	return true
}
