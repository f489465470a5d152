package gossip

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"dynakv/internal/testutil"
)

// eventually waits until cond returns nil. cond's errors are logged as they
// change, so a timeout shows why the condition did not hold.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	var last string
	testutil.Eventually(t, 15*time.Second, what, func() bool {
		err := cond()
		if err != nil && err.Error() != last {
			last = err.Error()
			t.Logf("%s: not yet: %v", what, err)
		}
		return err == nil
	})
}

// testLogger discards logs unless DYNAKV_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("DYNAKV_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// nodeConfig is a TestConfig for node id with its data in dir.
func nodeConfig(id, dir string, join ...string) Config {
	cfg := TestConfig()
	cfg.NodeID = id
	cfg.DataDir = dir
	cfg.HTTPAddr = "http-" + id
	cfg.RPCAddr = "rpc-" + id
	cfg.Join = join
	cfg.Logger = testLogger()
	return cfg
}

// start starts a node and closes it at the end of the test.
func start(t *testing.T, cfg Config) *Gossip {
	t.Helper()
	g, err := Start(cfg)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.NodeID, err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// cluster is a set of in-process nodes n1..nk; nodes[i] is nil while down.
type cluster struct {
	t     *testing.T
	nodes []*Gossip
	dirs  []string
	ports []int
}

func ids(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}

// startCluster starts k nodes: n1 bootstraps, the others join it.
func startCluster(t *testing.T, k int) *cluster {
	c := &cluster{t: t, nodes: make([]*Gossip, k), dirs: make([]string, k), ports: make([]int, k)}
	for i := range k {
		c.dirs[i] = t.TempDir()
		var join []string
		if i > 0 {
			join = []string{c.nodes[0].LocalAddr()}
		}
		c.nodes[i] = start(t, nodeConfig(ids(k)[i], c.dirs[i], join...))
		c.ports[i] = port(t, c.nodes[i].LocalAddr())
	}
	c.waitConverged(ids(k), ids(k))
	return c
}

func port(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// kill stops node i without leaving, as a crash would.
func (c *cluster) kill(i int) {
	if err := c.nodes[i].Close(); err != nil {
		c.t.Fatalf("close n%d: %v", i+1, err)
	}
	c.nodes[i] = nil
}

// restart starts node i again from its data folder on its old port.
func (c *cluster) restart(i int, join ...string) *Gossip {
	cfg := nodeConfig(ids(len(c.nodes))[i], c.dirs[i], join...)
	cfg.BindPort = c.ports[i]
	c.nodes[i] = start(c.t, cfg)
	return c.nodes[i]
}

// up returns the running nodes.
func (c *cluster) up() []*Gossip {
	return slices.DeleteFunc(slices.Clone(c.nodes), func(g *Gossip) bool { return g == nil })
}

// waitConverged waits until every running node has ring members ring and
// sees the nodes alive alive.
func (c *cluster) waitConverged(ring, alive []string) {
	c.t.Helper()
	for _, g := range c.up() {
		eventually(c.t, g.cfg.NodeID+" converges", func() error {
			if got := g.RingMembers(); !slices.Equal(got, ring) {
				return fmt.Errorf("ring members %v, want %v", got, ring)
			}
			for _, id := range alive {
				if m, _ := g.Node(id); m.Status != StatusAlive || !g.Alive(id) {
					return fmt.Errorf("%s is %q (Alive %v), want alive", id, m.Status, g.Alive(id))
				}
			}
			return nil
		})
	}
}

// memberlistKnows reports whether the memberlist of the node at addr still
// holds node id in any state (dead included). It asks through a push/pull
// from a throwaway memberlist that records the node list it is sent; the
// node refuses the throwaway (it is no dynakv node), so nothing changes.
func memberlistKnows(t *testing.T, addr, id string) bool {
	t.Helper()
	obs := &observer{}
	cfg := memberlist.DefaultLocalConfig()
	cfg.Name = "observer"
	cfg.BindAddr = "127.0.0.1"
	cfg.BindPort = 0
	cfg.Merge = obs
	cfg.DelegateProtocolVersion = ProtocolVersion // else memberlist refuses before asking obs
	cfg.DelegateProtocolMin = ProtocolVersion
	cfg.DelegateProtocolMax = ProtocolVersion
	cfg.LogOutput = io.Discard
	ml, err := memberlist.Create(cfg)
	if err != nil {
		t.Fatalf("observer: %v", err)
	}
	defer ml.Shutdown()
	ml.Join([]string{addr}) // fails by design: the observer refuses the merge
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.names == nil {
		t.Fatalf("observer got no node list from %s", addr)
	}
	return slices.Contains(obs.names, id)
}

type observer struct {
	mu    sync.Mutex
	names []string
}

func (o *observer) NotifyMerge(nodes []*memberlist.Node) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.names = []string{}
	for _, n := range nodes {
		o.names = append(o.names, n.Name)
	}
	return errors.New("observer does not merge")
}
