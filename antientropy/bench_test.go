package antientropy_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/antientropy"
	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/ring"
	"dynakv/storage"
	"dynakv/transport"
	"dynakv/versioning"
)

// Benchmark sizes: the 1,000,000 keys on each of two replicas,
// 100 of them differing, on the default ring of 1,024 partitions.
const (
	benchKeys       = 1_000_000
	benchDiffs      = 100
	benchPartitions = ring.DefaultPartitions
	benchValueBytes = 100
)

// BenchmarkConverge measures what anti-entropy costs to converge two
// replicas of 1,000,000 keys that differ in 100 (50 newer on each side),
// over real gRPC between two nodes with pebble storage: each iteration
// makes 100 keys differ, then times an on-demand repair on one node until
// both hold the same states. It reports the payload bytes the exchange
// carried (tree messages, listings, states), the bytes on the wire (TCP,
// gRPC framing included) and the time to converge, next to the same
// figures for the baseline, a full transfer of one replica's keys to an
// empty node, measured once in the same run.
//
//	go test -run '^$' -bench Converge -benchtime 3x ./antientropy/
//
// Sub-benchmarks: "defaults" runs with the default throttles (Rate,
// ScanRate), "unthrottled" without.
func BenchmarkConverge(b *testing.B) {
	env := newBenchEnv(b)
	full := env.fullTransfer(b)
	for _, bc := range []struct {
		name           string
		rate, scanRate float64
	}{
		{"defaults", antientropy.DefaultRate, antientropy.DefaultScanRate},
		{"unthrottled", 0, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := env.managers(b, bc.name, bc.rate, bc.scanRate)
			var payload, wire float64
			for range b.N {
				b.StopTimer()
				keys := env.diverge(b)
				payload0, wire0 := benchPayload(b, a.reg), env.wire.Load()
				b.StartTimer()
				run, err := a.ae.Repair()
				if err != nil {
					b.Fatal(err)
				}
				waitRun(b, a.ae, run.ID)
				b.StopTimer()
				payload += benchPayload(b, a.reg) - payload0
				wire += float64(env.wire.Load() - wire0)
				env.checkConverged(b, keys)
			}
			n := float64(b.N)
			b.ReportMetric(b.Elapsed().Seconds()/n, "converge-s/op")
			b.ReportMetric(payload/n, "payload-bytes/op")
			b.ReportMetric(wire/n, "wire-bytes/op")
			b.ReportMetric(full.wire, "full-transfer-wire-bytes")
			b.ReportMetric(full.seconds, "full-transfer-s")
			b.ReportMetric(wire/n/full.wire, "wire-bytes-ratio")
			b.ReportMetric(b.Elapsed().Seconds()/n/full.seconds, "time-ratio")
		})
	}
}

// benchNode is one node of the benchmark: storage, its local replica, a
// gRPC server whose accepted connections count their bytes, and (once
// started) its anti-entropy.
type benchNode struct {
	id    string
	store *storage.Store
	local *replica.Local
	trees *antientropy.Trees
	ae    *antientropy.Manager
	reg   *prometheus.Registry
	srv   *transport.Server
	addr  string
}

type benchEnv struct {
	ring     *ring.Ring
	nodes    map[string]*benchNode
	client   *transport.Client
	wire     atomic.Int64 // bytes through every server connection
	keys     [][]byte
	dir      string
	running  string // the sub-benchmark whose managers run
	counter  uint64 // the last dot counter written
	diverged int    // iterations so far, to pick fresh keys
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	env := &benchEnv{nodes: map[string]*benchNode{}, dir: b.TempDir()}
	var err error
	if env.ring, err = ring.New([]string{"a", "b"}, ring.Config{Partitions: benchPartitions, N: 2}); err != nil {
		b.Fatal(err)
	}
	for _, id := range []string{"a", "b", "empty"} {
		env.nodes[id] = env.openNode(b, id)
	}
	env.client, err = transport.NewClient(transport.ClientConfig{Logger: quiet, Resolver: transport.ResolverFunc(func(id string) (string, bool) {
		n, ok := env.nodes[id]
		if !ok {
			return "", false
		}
		return n.addr, true
	})})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { env.client.Close() })

	start := time.Now()
	env.keys = make([][]byte, benchKeys)
	var wg sync.WaitGroup
	for part := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := part; i < benchKeys; i += 2 {
				env.keys[i] = fmt.Appendf(nil, "user/%07d", i)
				enc := benchState(b, nil, uint64(i+1)).AppendBinary(nil)
				for _, id := range []string{"a", "b"} {
					_, err := env.nodes[id].store.Update(env.partition(i), env.keys[i], func([]byte, bool) ([]byte, bool, error) { return enc, true, nil })
					if err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	env.counter = benchKeys
	b.Logf("wrote %d keys to each of two replicas in %v", benchKeys, time.Since(start).Round(time.Millisecond))
	return env
}

func (env *benchEnv) openNode(b *testing.B, id string) *benchNode {
	b.Helper()
	opts := storage.DefaultOptions(filepath.Join(env.dir, id), id)
	opts.Sync = false
	opts.Logger = quiet
	st, err := storage.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	trees, err := antientropy.NewTrees(benchPartitions, antientropy.DefaultShape())
	if err != nil {
		b.Fatal(err)
	}
	n := &benchNode{id: id, store: st, trees: trees}
	n.local = replica.NewLocal(replica.LocalConfig{Store: st, Logger: quiet, OnChange: trees.OnChange})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	n.addr = lis.Addr().String()
	n.srv = transport.NewServer(transport.ServerConfig{Logger: quiet, Handler: replica.PeerService{Local: n.local, AntiEntropy: benchPeer{n}}})
	go func() { _ = n.srv.Serve(&countingListener{Listener: lis, bytes: &env.wire}) }()
	b.Cleanup(func() {
		n.srv.Close()
		if n.ae != nil {
			n.ae.Close()
		}
		st.Close()
	})
	return n
}

// benchPeer routes a node's anti-entropy calls to its current Manager.
type benchPeer struct{ n *benchNode }

func (p benchPeer) TreeHashes(ctx context.Context, partition uint32, req merkle.Request) (merkle.Response, error) {
	return p.n.ae.TreeHashes(ctx, partition, req)
}

func (p benchPeer) TreeListing(ctx context.Context, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error) {
	return p.n.ae.TreeListing(ctx, partition, shape, buckets)
}

func (p benchPeer) ExchangeStates(ctx context.Context, entries []replica.KeyState) ([]replica.KeyState, error) {
	if p.n.ae != nil {
		return p.n.ae.ExchangeStates(ctx, entries)
	}
	// The empty node of the full transfer runs no anti-entropy: it merges
	// what it gets, four at a time as anti-entropy does, and echoes only
	// the keys, so the baseline moves each state once.
	out := make([]replica.KeyState, len(entries))
	var wg sync.WaitGroup
	errs := make(chan error, len(entries))
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(entries); i += 4 {
				e := entries[i]
				if _, err := p.n.local.Merge(e.Partition, e.Key, e.State); err != nil {
					errs <- err
					return
				}
				out[i] = replica.KeyState{Partition: e.Partition, Key: e.Key}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return out, <-errs
}

func (p benchPeer) ReapTombstones(ctx context.Context, entries []replica.KeyState) ([]bool, error) {
	return p.n.ae.ReapTombstones(ctx, entries)
}

// managers returns node a once anti-entropy runs on a and b with the
// given throttles for the sub-benchmark name, and their trees are built.
// The managers are kept for the sub-benchmark's later rounds, and replaced
// when another sub-benchmark begins.
func (env *benchEnv) managers(b *testing.B, name string, rate, scanRate float64) *benchNode {
	b.Helper()
	if env.running == name {
		return env.nodes["a"]
	}
	env.running = name
	start := time.Now()
	for _, id := range []string{"a", "b"} {
		n := env.nodes[id]
		if n.ae != nil {
			n.ae.Close()
		}
		trees, err := antientropy.NewTrees(benchPartitions, antientropy.DefaultShape())
		if err != nil {
			b.Fatal(err)
		}
		// A fresh Local reporting to fresh trees, over the same storage.
		n.trees = trees
		n.local = replica.NewLocal(replica.LocalConfig{Store: n.store, Logger: quiet, OnChange: trees.OnChange})
		cfg := antientropy.DefaultConfig()
		cfg.Self, cfg.Trees, cfg.Store, cfg.Replica = id, trees, n.store, n.local
		cfg.Peers, cfg.Placement, cfg.Liveness = env.client, placement{env.ring}, allAlive{}
		cfg.Interval, cfg.Rate, cfg.ScanRate, cfg.Tick = 0, rate, scanRate, 10*time.Millisecond
		cfg.Logger = quiet
		n.reg = prometheus.NewRegistry()
		cfg.Registerer = n.reg
		if n.ae, err = antientropy.New(cfg); err != nil {
			b.Fatal(err)
		}
		n.ae.Start()
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		a, bb := env.nodes["a"].ae.Status(), env.nodes["b"].ae.Status()
		if a.Partitions == benchPartitions && a.TreesBuilt == a.Partitions && bb.TreesBuilt == bb.Partitions && bb.Partitions == benchPartitions {
			break
		}
		<-tick.C
	}
	b.Logf("%s: built %d trees on each node in %v", name, benchPartitions, time.Since(start).Round(time.Millisecond))
	return env.nodes["a"]
}

type allAlive struct{}

func (allAlive) Alive(string) bool { return true }

func (env *benchEnv) partition(i int) uint32 {
	return ring.PartitionOf(env.keys[i], benchPartitions)
}

// diverge gives 100 keys a newer write on one replica only: 50 on each.
func (env *benchEnv) diverge(b *testing.B) []int {
	b.Helper()
	var keys []int
	env.diverged++
	for j := range benchDiffs {
		i := (env.diverged*benchDiffs + j) * 9973 % benchKeys
		side := []string{"a", "b"}[j%2]
		cur, err := env.nodes[side].local.Read(env.partition(i), env.keys[i])
		if err != nil {
			b.Fatal(err)
		}
		env.counter++
		next := benchState(b, cur, env.counter)
		if _, err := env.nodes[side].local.Merge(env.partition(i), env.keys[i], next); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, i)
	}
	return keys
}

func (env *benchEnv) checkConverged(b *testing.B, keys []int) {
	b.Helper()
	for _, i := range keys {
		sa, _ := env.nodes["a"].local.Read(env.partition(i), env.keys[i])
		sb, _ := env.nodes["b"].local.Read(env.partition(i), env.keys[i])
		if !sa.Equal(sb) {
			b.Fatalf("key %s did not converge", env.keys[i])
		}
	}
}

// transferCost is what the baseline cost.
type transferCost struct{ wire, payload, seconds float64 }

// fullTransfer sends every key of replica a to the empty node in batches
// of the same size anti-entropy uses, over the same transport: what
// refilling a replica costs without trees.
func (env *benchEnv) fullTransfer(b *testing.B) transferCost {
	b.Helper()
	wire0 := env.wire.Load()
	start := time.Now()
	var payload int
	empty := env.nodes["empty"]
	for p := range uint32(benchPartitions) {
		var batch []replica.KeyState
		flush := func() {
			if len(batch) == 0 {
				return
			}
			for _, e := range batch {
				payload += len(e.Key) + 4 + len(e.State.AppendBinary(nil))
			}
			if _, err := env.client.ExchangeStates(context.Background(), empty.id, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		err := env.nodes["a"].store.ScanPartition(p, func(key, value []byte) error {
			s, err := versioning.DecodeSet(slices.Clone(value))
			if err != nil {
				return err
			}
			batch = append(batch, replica.KeyState{Partition: p, Key: slices.Clone(key), State: s})
			if len(batch) == antientropy.DefaultBatchKeys {
				flush()
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		flush()
	}
	cost := transferCost{wire: float64(env.wire.Load() - wire0), payload: float64(payload), seconds: time.Since(start).Seconds()}
	b.Logf("baseline full transfer of %d keys: %.1f MB on the wire (%.1f MB payload) in %.2fs",
		benchKeys, cost.wire/1e6, cost.payload/1e6, cost.seconds)
	return cost
}

// benchState returns a state one write newer than cur: a value of
// benchValueBytes written by actor w with the given counter.
func benchState(b *testing.B, cur *versioning.Set, counter uint64) *versioning.Set {
	ev := versioning.Event{Dot: versioning.Dot{Actor: "w.1", Counter: counter}, Modified: 1_700_000_000_000_000}
	value := make([]byte, benchValueBytes)
	copy(value, fmt.Sprint(counter))
	s, err := cur.Update(cur.Context(), ev, versioning.Sibling{Value: value, ContentType: "application/octet-stream"}, 0)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchPayload is a node's anti-entropy payload bytes so far, both ways.
func benchPayload(b *testing.B, reg *prometheus.Registry) float64 {
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == "dynakv_aae_bytes_total" {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func waitRun(b *testing.B, ae *antientropy.Manager, id uint64) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		for _, r := range ae.Status().Runs {
			if r.ID == id && !r.Finished.IsZero() {
				if r.Failed != 0 {
					b.Fatalf("repair run %+v failed", r)
				}
				return
			}
		}
		<-tick.C
	}
}

// countingListener counts the bytes both ways on the connections it
// accepts.
type countingListener struct {
	net.Listener
	bytes *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, bytes: l.bytes}, nil
}

type countingConn struct {
	net.Conn
	bytes *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.bytes.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.bytes.Add(int64(n))
	return n, err
}
