package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
	"dynakv/node"
)

// convergeWithin bounds every wait for the cluster to settle.
const convergeWithin = 20 * time.Second

// testCluster is a cluster of real nodes in this test process (storage,
// gossip on loopback with fast timings, RPC between nodes, HTTP for the
// CLI), for the cluster commands' tests.
type testCluster struct {
	t       *testing.T
	nodes   map[string]*node.Node // nil once stopped
	clients map[string]*client.Client
}

// startCluster starts nodes n1..n<size>, all joining n1, and waits until
// every node sees every other alive and in the ring.
func startCluster(t *testing.T, size int) *testCluster {
	t.Helper()
	c := &testCluster{t: t, nodes: map[string]*node.Node{}, clients: map[string]*client.Client{}}
	dir := t.TempDir()
	for i := range size {
		cfg := node.DefaultConfig()
		cfg.ID = fmt.Sprintf("n%d", i+1)
		cfg.DataDir = filepath.Join(dir, cfg.ID)
		cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		cfg.Partitions = 64
		cfg.Sync = false
		cfg.GossipTuning = gossip.FastTimings
		cfg.Logger = slog.New(slog.DiscardHandler)
		if i > 0 {
			cfg.Join = []string{c.nodes["n1"].GossipAddr()}
		}
		n, err := node.Start(cfg)
		if err != nil {
			t.Fatalf("start %s: %v", cfg.ID, err)
		}
		t.Cleanup(func() { n.Close() })
		cl, err := client.New(n.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		c.nodes[cfg.ID], c.clients[cfg.ID] = n, cl
	}
	ids := c.ids()
	for _, at := range ids {
		c.waitMembers(at, fmt.Sprintf("%v alive and in the ring", ids), func(ms []client.Member) bool {
			var got []string
			for _, m := range ms {
				if m.Status == gossip.StatusAlive && m.InRing {
					got = append(got, m.ID)
				}
			}
			return slices.Equal(got, ids)
		})
		// The ring that routes requests is rebuilt from the membership a
		// moment after it changes: wait for it too, or a first write may
		// go to fewer replicas than the test expects.
		testutil.Eventually(t, convergeWithin, at+"'s ring to hold "+fmt.Sprint(ids), func() bool {
			info, err := c.clients[at].Ring(context.Background())
			return err == nil && slices.Equal(info.IDs(), ids)
		})
	}
	return c
}

// ids are the ids of the nodes still running, sorted.
func (c *testCluster) ids() []string {
	var ids []string
	for id, n := range c.nodes {
		if n != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// endpoint is the API address of node id, as -e takes it.
func (c *testCluster) endpoint(id string) string { return c.clients[id].Endpoint() }

// stop closes node id without leaving the cluster, as a crash would.
func (c *testCluster) stop(id string) {
	c.t.Helper()
	if err := c.nodes[id].Close(); err != nil {
		c.t.Fatalf("stop %s: %v", id, err)
	}
	c.nodes[id] = nil
}

// waitMembers waits until node at's member list satisfies cond.
func (c *testCluster) waitMembers(at, what string, cond func([]client.Member) bool) {
	c.t.Helper()
	testutil.Eventually(c.t, convergeWithin, at+" to see "+what, func() bool {
		ms, err := c.clients[at].Members(context.Background())
		return err == nil && cond(ms)
	})
}

// waitStatus waits until node at sees node id with status.
func (c *testCluster) waitStatus(at, id, status string) {
	c.t.Helper()
	c.waitMembers(at, id+" "+status, func(ms []client.Member) bool {
		i := slices.IndexFunc(ms, func(m client.Member) bool { return m.ID == id })
		return i >= 0 && ms[i].Status == status
	})
}

// runFails runs dynakv, fails the test if it succeeds, and returns the error
// main would print.
func runFails(t *testing.T, args ...string) error {
	t.Helper()
	out, _, err := runCLI(t, "", args...)
	if err == nil {
		t.Fatalf("dynakv %v succeeded (stdout %q), want a failure", args, out)
	}
	return err
}
