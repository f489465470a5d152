package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClusterConverges(t *testing.T) {
	for _, k := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", k), func(t *testing.T) {
			c := startCluster(t, k)
			for _, g := range c.nodes {
				members := g.Members()
				if len(members) != k {
					t.Fatalf("%s sees %d members, want %d: %+v", g.cfg.NodeID, len(members), k, members)
				}
				for _, m := range members {
					want := Member{ID: m.ID, HTTPAddr: "http-" + m.ID, RPCAddr: "rpc-" + m.ID,
						GossipAddr: m.GossipAddr, Status: StatusAlive, RingStatus: Joined, InRing: true, ProtocolVersion: ProtocolVersion}
					if m != want || m.GossipAddr == "" {
						t.Errorf("%s sees %+v, want %+v", g.cfg.NodeID, m, want)
					}
				}
			}
		})
	}
}

func TestSubscribeSignalsChanges(t *testing.T) {
	n1 := start(t, nodeConfig("n1", t.TempDir()))
	changes, cancel := n1.Subscribe()
	start(t, nodeConfig("n2", t.TempDir(), n1.LocalAddr()))
	eventually(t, "n1 sees n2 in the ring", func() error {
		select {
		case <-changes:
		case <-time.After(5 * time.Second):
			return errors.New("no signal")
		}
		if got := n1.RingMembers(); !slices.Equal(got, []string{"n1", "n2"}) {
			return fmt.Errorf("ring members %v", got)
		}
		return nil
	})
	cancel()
	if _, ok := <-changes; ok {
		// a pending signal may remain; the channel must be closed after it
		if _, ok := <-changes; ok {
			t.Fatal("channel still open after unsubscribing")
		}
	}
	late, _ := n1.Subscribe()
	n1.Close()
	if _, ok := <-late; ok {
		if _, ok := <-late; ok {
			t.Fatal("Close did not close subscribers' channels")
		}
	}
}

func TestDeadNodeStaysInRingUntilRemoved(t *testing.T) {
	c := startCluster(t, 3)
	n1 := c.nodes[0]
	if err := n1.Remove("n2"); !errors.Is(err, ErrNodeAlive) {
		t.Fatalf("Remove(alive n2) = %v, want ErrNodeAlive", err)
	}
	if err := n1.Remove("n1"); !errors.Is(err, ErrNodeAlive) {
		t.Fatalf("Remove(self) = %v, want ErrNodeAlive", err)
	}
	if err := n1.Remove("n9"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("Remove(unknown) = %v, want ErrUnknownNode", err)
	}

	if !memberlistKnows(t, n1.LocalAddr(), "n3") {
		t.Fatal("observer cannot see n3 in n1's memberlist")
	}
	c.kill(2)
	for _, g := range c.up() {
		eventually(t, g.cfg.NodeID+" sees n3 dead", func() error {
			m, ok := g.Node("n3")
			if !ok || m.Status != StatusDead || !m.InRing || g.Alive("n3") {
				return fmt.Errorf("n3 = %+v (known %v, Alive %v)", m, ok, g.Alive("n3"))
			}
			return nil
		})
	}
	eventually(t, "memberlist forgets n3", func() error {
		for _, g := range c.up() {
			if memberlistKnows(t, g.LocalAddr(), "n3") {
				return fmt.Errorf("%s's memberlist still holds n3", g.cfg.NodeID)
			}
		}
		return nil
	})
	for _, g := range c.up() {
		if got := g.RingMembers(); !slices.Equal(got, ids(3)) {
			t.Fatalf("%s: ring members %v after memberlist forgot n3, want %v", g.cfg.NodeID, got, ids(3))
		}
		if m, ok := g.Node("n3"); !ok || m.RPCAddr != "rpc-n3" || m.Status != StatusDead {
			t.Fatalf("%s: Node(n3) = %+v, %v; want it resolved to rpc-n3, dead", g.cfg.NodeID, m, ok)
		}
	}

	if err := n1.Remove("n3"); err != nil {
		t.Fatalf("Remove(dead n3): %v", err)
	}
	if err := n1.Remove("n3"); err != nil {
		t.Fatalf("Remove(n3) again: %v", err)
	}
	c.waitConverged(ids(2), ids(2))
	for _, g := range c.up() {
		if m, _ := g.Node("n3"); m.Status != StatusLeft || m.RingStatus != Removed || m.InRing {
			t.Errorf("%s: n3 = %+v, want left/removed", g.cfg.NodeID, m)
		}
	}

	// Restarted from its data folder, the removed node means to serve:
	// it joins the ring again.
	c.restart(2, n1.LocalAddr())
	c.waitConverged(ids(3), ids(3))
}

func TestLeave(t *testing.T) {
	c := startCluster(t, 3)
	n3 := c.nodes[2]
	if err := n3.MarkLeaving(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "n1 sees n3 leaving", func() error {
		if m, _ := c.nodes[0].Node("n3"); m.Status != StatusLeaving || !m.InRing {
			return fmt.Errorf("n3 = %+v", m)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n3.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	c.nodes[2] = nil
	if err := n3.Leave(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Leave after leaving = %v, want ErrClosed", err)
	}
	c.waitConverged(ids(2), ids(2))
	for _, g := range c.up() {
		if m, _ := g.Node("n3"); m.Status != StatusLeft || m.RingStatus != Left {
			t.Errorf("%s: n3 = %+v, want left", g.cfg.NodeID, m)
		}
	}

	// Starting it again is joining again: its entry gets a newer version
	// than the Left one.
	c.restart(2, c.nodes[0].LocalAddr())
	c.waitConverged(ids(3), ids(3))
}

func TestFullRestartRemembersRing(t *testing.T) {
	c := startCluster(t, 3)
	for i := range c.nodes {
		c.kill(i)
	}
	// n1 and n2 come back without Join addresses: the persisted ring is
	// enough to find each other. n3 stays down and stays in the ring.
	c.restart(0)
	c.restart(1)
	c.waitConverged(ids(3), ids(2))
	for _, g := range c.up() {
		if m, _ := g.Node("n3"); m.Status != StatusDead || !m.InRing || m.RPCAddr != "rpc-n3" {
			t.Errorf("%s: n3 = %+v, want a dead ring member", g.cfg.NodeID, m)
		}
	}
	c.restart(2)
	c.waitConverged(ids(3), ids(3))
}

func TestSettingsMismatchRefusedOnBothSides(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*Config)
		says   string
	}{
		"N":            {func(c *Config) { c.N = 5 }, "N: 5 here, 3 there"},
		"partitions":   {func(c *Config) { c.Partitions = 512 }, "partitions: 512 here, 1024 there"},
		"cluster name": {func(c *Config) { c.ClusterName = "other" }, `cluster name: "other" here, "dynakv" there`},
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			cfg := nodeConfig("n1", t.TempDir())
			cfg.Logger = slog.New(rec)
			n1 := start(t, cfg)

			dir := t.TempDir()
			bad := nodeConfig("bad", dir, n1.LocalAddr())
			tc.mutate(&bad)
			g, err := Start(bad)
			if err == nil {
				g.Close()
				t.Fatal("a node with other settings joined")
			}
			if !errors.Is(err, ErrSettingsMismatch) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Start = %v, want ErrSettingsMismatch saying %q", err, tc.says)
			}
			if _, err := os.Stat(filepath.Join(dir, membersFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the refused node wrote %s (%v)", membersFile, err)
			}
			eventually(t, "n1 logs the refusal", func() error {
				if _, ok := n1Refusal(rec); !ok {
					return errors.New("no error-level log naming the node")
				}
				return nil
			})
			if _, known := n1.Node("bad"); known {
				t.Fatal("n1 added the refused node")
			}
		})
	}
}

func n1Refusal(rec *recorder) (slog.Record, bool) {
	return rec.find(slog.LevelError, func(text string) bool {
		return strings.Contains(text, "bad") && strings.Contains(text, "cluster settings")
	})
}

func TestDataFolderRemembersSettingsAndOwner(t *testing.T) {
	dir := t.TempDir()
	g := start(t, nodeConfig("n1", dir))
	g.Close()

	cfg := nodeConfig("n1", dir)
	cfg.N = 5
	if _, err := Start(cfg); !errors.Is(err, ErrSettingsMismatch) || !strings.Contains(err.Error(), "N: 5 here, 3 there") {
		t.Fatalf("start with another N = %v, want ErrSettingsMismatch", err)
	}
	if _, err := Start(nodeConfig("n2", dir)); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("start as another node = %v, want ErrInvalidConfig", err)
	}
}

func TestJoinUnreachableFails(t *testing.T) {
	// A new node that cannot reach its Join addresses must not bootstrap a
	// cluster of its own.
	cfg := joiningNowhere(t)
	cfg.JoinTimeout = 300 * time.Millisecond
	g, err := Start(cfg)
	if err == nil {
		g.Close()
		t.Fatal("Start succeeded with no reachable Join address")
	}
	if !strings.Contains(err.Error(), "--join-timeout") {
		t.Errorf("the error should say how to wait longer: %v", err)
	}
}

// joiningNowhere returns the config of a new node n2 whose Join address
// is a gossip port that was live and is closed now.
func joiningNowhere(t *testing.T) Config {
	n1 := start(t, nodeConfig("n1", t.TempDir()))
	addr := n1.LocalAddr()
	n1.Close()
	return nodeConfig("n2", t.TempDir(), addr)
}

// An interrupted start (Ctrl-C on `dynakv serve`) stops a join that is
// still retrying at once, not when the join timeout runs out.
func TestJoinRetryStopsWhenTheContextEnds(t *testing.T) {
	cfg := joiningNowhere(t)
	cfg.JoinTimeout = 20 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	g, err := StartContext(ctx, cfg)
	if err == nil {
		g.Close()
		t.Fatal("StartContext succeeded with no reachable Join address")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("StartContext whose context ended while retrying: %v, want an error wrapping the context's", err)
	}
}

// Nodes started together come up in any order: a node whose Join address
// is not listening yet keeps trying until it is.
func TestJoinWaitsForTheAddressToComeUp(t *testing.T) {
	lis, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.LocalAddr().(*net.UDPAddr).Port
	lis.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	joined := make(chan error, 1)
	var n2 *Gossip
	go func() {
		var err error
		n2, err = Start(nodeConfig("n2", t.TempDir(), addr))
		joined <- err
	}()
	select {
	case err := <-joined:
		if err == nil {
			n2.Close()
		}
		t.Fatalf("Start returned before anything listened at its Join address: %v", err)
	case <-time.After(300 * time.Millisecond): // it is still trying
	}
	cfg := nodeConfig("n1", t.TempDir())
	cfg.BindPort = port
	n1, err := Start(cfg)
	if err != nil {
		t.Skipf("port %d was taken meanwhile: %v", port, err)
	}
	t.Cleanup(func() { n1.Close() })
	if err := <-joined; err != nil {
		t.Fatalf("n2 did not join once n1 was up: %v", err)
	}
	t.Cleanup(func() { n2.Close() })
	eventually(t, "n1 and n2 see each other", func() error {
		if !n1.Alive("n2") || !n2.Alive("n1") {
			return errors.New("not yet")
		}
		return nil
	})
}

func TestWipedNodeRejoinsWithNewAddresses(t *testing.T) {
	c := startCluster(t, 2)
	n1 := c.nodes[0]
	oldAddr := c.nodes[1].LocalAddr()
	c.kill(1)
	eventually(t, "n1 sees n2 dead", func() error {
		if n1.Alive("n2") {
			return errors.New("n2 alive")
		}
		return nil
	})
	// n2 comes back with an empty data folder on another port: the ring
	// still holds its old entry, which it must correct.
	cfg := nodeConfig("n2", t.TempDir(), n1.LocalAddr())
	cfg.RPCAddr = "rpc-n2-new"
	n2 := start(t, cfg)
	if n2.LocalAddr() == oldAddr {
		t.Skip("the OS gave n2 its old port back")
	}
	c.nodes[1] = n2
	c.waitConverged(ids(2), ids(2))
	for _, g := range c.up() {
		eventually(t, g.cfg.NodeID+" holds n2's new addresses", func() error {
			g.mu.Lock()
			e := g.members["n2"]
			g.mu.Unlock()
			if e.GossipAddr != n2.LocalAddr() || e.RPCAddr != "rpc-n2-new" || e.Status != Joined {
				return fmt.Errorf("n2's entry is %+v", e)
			}
			return nil
		})
	}
}
