package node_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
	"dynakv/node"
)

// testCluster is a cluster of real nodes in this process: storage, gossip on
// loopback with fast timings, gRPC between nodes, HTTP for clients.
type testCluster struct {
	t       *testing.T
	dir     string
	nodes   map[string]*node.Node
	cfgs    map[string]node.Config
	clients map[string]*client.Client
}

func startCluster(t *testing.T, size int) *testCluster {
	t.Helper()
	return startClusterWith(t, size, func(*node.Config) {})
}

// startClusterWith is startCluster with tune applied to each node's config.
func startClusterWith(t *testing.T, size int, tune func(*node.Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, dir: t.TempDir(), nodes: map[string]*node.Node{}, cfgs: map[string]node.Config{}, clients: map[string]*client.Client{}}
	for i := range size {
		id := fmt.Sprintf("n%d", i+1)
		cfg := node.DefaultConfig()
		cfg.ID = id
		cfg.DataDir = filepath.Join(c.dir, id)
		cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		cfg.Replicas = 3
		cfg.Partitions = 64
		cfg.Sync = false
		cfg.GossipTuning = gossip.FastTimings
		cfg.Logger = testLogger()
		if i > 0 {
			cfg.Join = []string{c.nodes["n1"].GossipAddr()}
		}
		tune(&cfg)
		c.start(cfg)
	}
	c.waitRing(c.ids()...)
	return c
}

func (c *testCluster) start(cfg node.Config) *node.Node {
	c.t.Helper()
	n, err := node.Start(cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", cfg.ID, err)
	}
	c.t.Cleanup(func() { n.Close() })
	// Restarts reuse the ports the node first got.
	cfg.HTTPAddr, cfg.GossipAddr = n.HTTPAddr(), n.GossipAddr()
	c.nodes[cfg.ID], c.cfgs[cfg.ID] = n, cfg
	cl, err := client.New("http://" + n.HTTPAddr())
	if err != nil {
		c.t.Fatal(err)
	}
	c.clients[cfg.ID] = cl
	return n
}

func (c *testCluster) ids() []string {
	var ids []string
	for id := range c.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// waitRing waits until every running node's ring is exactly want.
func (c *testCluster) waitRing(want ...string) {
	c.t.Helper()
	testutil.Eventually(c.t, 15*time.Second, fmt.Sprintf("every node's ring to be %v", want), func() bool {
		for _, id := range c.ids() {
			if c.nodes[id] == nil {
				continue
			}
			info, err := c.clients[id].Ring(context.Background())
			if err != nil || !slices.Equal(info.IDs(), want) {
				return false
			}
		}
		return true
	})
}

// waitStatus waits until node at sees node id with the given status.
func (c *testCluster) waitStatus(at, id, status string) {
	c.t.Helper()
	testutil.Eventually(c.t, 15*time.Second, fmt.Sprintf("%s to see %s %s", at, id, status), func() bool {
		ms, err := c.clients[at].Members(context.Background())
		if err != nil {
			return false
		}
		for _, m := range ms {
			if m.ID == id {
				return m.Status == status
			}
		}
		return false
	})
}

func (c *testCluster) stop(id string) {
	c.t.Helper()
	if err := c.nodes[id].Close(); err != nil {
		c.t.Fatal(err)
	}
	c.nodes[id] = nil
}

func (c *testCluster) put(at, key, value, ctx string, l client.Levels) error {
	_, err := c.clients[at].Put(context.Background(), key, []byte(value), "text/plain", ctx, l)
	return err
}

func (c *testCluster) get(at, key string, l client.Levels) (*client.Object, error) {
	return c.clients[at].Get(context.Background(), key, l)
}

func values(o *client.Object) []string {
	if o == nil {
		return nil
	}
	var out []string
	for _, s := range o.Siblings {
		out = append(out, string(s.Value))
	}
	slices.Sort(out)
	return out
}

func TestNodesFormAClusterAndServeEveryKeyEverywhere(t *testing.T) {
	c := startCluster(t, 3)
	for i := range 20 {
		key := fmt.Sprintf("k%d", i)
		at := c.ids()[i%3]
		if err := c.put(at, key, "v"+key, "", client.Levels{W: "all"}); err != nil {
			t.Fatalf("put %s at %s: %v", key, at, err)
		}
		for _, reader := range c.ids() {
			obj, err := c.get(reader, key, client.Levels{R: "all"})
			if err != nil || !slices.Equal(values(obj), []string{"v" + key}) {
				t.Fatalf("get %s at %s: %v, %v", key, reader, values(obj), err)
			}
		}
	}
	// Every node computes the same preference lists.
	for i := range 20 {
		key := fmt.Sprintf("k%d", i)
		var first []string
		for _, id := range c.ids() {
			pl, err := c.clients[id].Preflist(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pl.Primaries {
				got = append(got, p.ID)
			}
			if first == nil {
				first = got
			} else if !slices.Equal(first, got) {
				t.Fatalf("preflist of %s differs between nodes: %v vs %v", key, first, got)
			}
		}
	}
}

func TestKilledNodeStaysInTheRingAndLevelsFollowTheContract(t *testing.T) {
	c := startCluster(t, 3)
	c.stop("n3")
	c.waitStatus("n1", "n3", gossip.StatusDead)
	c.waitRing("n1", "n2", "n3") // still a ring member

	if err := c.put("n1", "k", "v", "", client.Levels{W: "quorum"}); err != nil {
		t.Fatalf("quorum write with one of three down: %v", err)
	}
	if _, err := c.get("n2", "k", client.Levels{R: "quorum"}); err != nil {
		t.Fatalf("quorum read with one of three down: %v", err)
	}
	err := c.put("n1", "k", "v2", "", client.Levels{W: "all"})
	if !client.IsCode(err, "unavailable") {
		t.Fatalf("w=all with a node down: %v, want 503 unavailable", err)
	}
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status != 503 {
		t.Fatalf("status %d, want 503", ce.Status)
	}
	obj, err := c.get("n1", "k", client.Levels{R: "quorum"})
	if err != nil || !slices.Equal(values(obj), []string{"v"}) {
		t.Fatalf("the refused write left something: %v, %v", values(obj), err)
	}
}

func TestLeaveHandsOffAndShrinksTheRing(t *testing.T) {
	c := startCluster(t, 4)
	keys := 60
	for i := range keys {
		if err := c.put("n1", fmt.Sprintf("k%d", i), "v", "", client.Levels{W: "all"}); err != nil {
			t.Fatal(err)
		}
	}
	leaver := c.nodes["n4"]
	if _, err := c.clients["n4"].Leave(context.Background()); err != nil {
		t.Fatalf("leave: %v", err)
	}
	select {
	case <-leaver.Done():
		if err := leaver.Err(); err != nil {
			t.Fatalf("the leaving node stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the leaving node did not finish its hand-off")
	}
	c.stop("n4")
	delete(c.nodes, "n4")
	c.waitRing("n1", "n2", "n3")
	// Every key is on all three of its new primaries, without any read repair.
	for i := range keys {
		key := fmt.Sprintf("k%d", i)
		view, err := c.clients["n1"].Replicas(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range view.Replicas {
			if r.Status != "ok" {
				t.Fatalf("after leave, %s on %s is %s", key, r.Node, r.Status)
			}
		}
	}
}

func TestRemoveTakesADeadNodeOutOfTheRing(t *testing.T) {
	c := startCluster(t, 4)
	_, err := c.clients["n1"].Remove(context.Background(), "n4")
	if !client.IsCode(err, "node_alive") {
		t.Fatalf("removing a live node: %v, want 409 node_alive", err)
	}
	c.stop("n4")
	c.waitStatus("n1", "n4", gossip.StatusDead)
	if _, err := c.clients["n1"].Remove(context.Background(), "n4"); err != nil {
		t.Fatalf("remove dead n4: %v", err)
	}
	delete(c.nodes, "n4")
	c.waitRing("n1", "n2", "n3")
	if err := c.put("n2", "after", "v", "", client.Levels{W: "all"}); err != nil {
		t.Fatalf("w=all after removing the dead node: %v", err)
	}
}

func TestRestartedClusterRemembersItsRing(t *testing.T) {
	c := startCluster(t, 3)
	if err := c.put("n1", "k", "v", "", client.Levels{W: "all"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range c.ids() {
		c.stop(id)
	}
	// Restart two of three; the third stays down but in the ring.
	for _, id := range []string{"n1", "n2"} {
		cfg := c.cfgs[id]
		cfg.Join = nil
		c.start(cfg)
	}
	delete(c.nodes, "n3")
	c.waitRing("n1", "n2", "n3")
	c.waitStatus("n2", "n1", gossip.StatusAlive)
	c.waitStatus("n2", "n3", gossip.StatusDead)
	obj, err := c.get("n2", "k", client.Levels{R: "quorum"})
	if err != nil || !slices.Equal(values(obj), []string{"v"}) {
		t.Fatalf("after a full restart: %v, %v", values(obj), err)
	}
}

// A node started with --advertise announces the advertised host with the
// gossip port it binds, and is reachable there.
func TestAdvertisedAddressCarriesTheGossipPort(t *testing.T) {
	c := startCluster(t, 1)
	cfg := c.cfgs["n1"]
	cfg.ID = "adv"
	cfg.DataDir = filepath.Join(c.dir, "adv")
	cfg.HTTPAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.GossipAddr = testutil.FreeLoopbackAddr(t)
	cfg.Advertise = "127.0.0.1"
	cfg.Join = []string{c.nodes["n1"].GossipAddr()}
	c.start(cfg)
	c.waitRing("adv", "n1")
	c.waitStatus("n1", "adv", gossip.StatusAlive)
	ms, err := c.clients["n1"].Members(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == "adv" && m.GossipAddr != cfg.GossipAddr {
			t.Fatalf("the advertised gossip address is %s, want %s", m.GossipAddr, cfg.GossipAddr)
		}
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("DYNAKV_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// Nodes that start at the same moment, joining through one seed as the
// compose cluster's do, each end up routing with a ring of all of them: a
// member whose join a node learns while it is still starting is not lost.
// It was when a node subscribed to membership changes only after building
// its first ring: five of six runs of this test failed then (each round is
// a chance to hit the window).
func TestNodesStartingTogetherAllRouteWithEveryMember(t *testing.T) {
	for round := range 16 {
		t.Run(fmt.Sprint("round-", round), func(t *testing.T) {
			c := startCluster(t, 1)
			started := make(chan *node.Node, 4)
			for i := 2; i <= 5; i++ {
				cfg := c.joinConfig(fmt.Sprintf("n%d", i))
				go func() {
					n, err := node.Start(cfg)
					if err != nil {
						t.Errorf("start %s: %v", cfg.ID, err)
					}
					started <- n
				}()
			}
			for range 4 {
				n := <-started
				if n == nil {
					continue
				}
				t.Cleanup(func() { n.Close() })
				cl, err := client.New("http://" + n.HTTPAddr())
				if err != nil {
					t.Fatal(err)
				}
				c.nodes[n.ID()], c.clients[n.ID()] = n, cl
			}
			if !t.Failed() {
				c.waitRing("n1", "n2", "n3", "n4", "n5")
			}
		})
	}
}
