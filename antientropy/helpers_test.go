package antientropy_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/antientropy"
	"dynakv/hints"
	"dynakv/internal/testutil"
	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/ring"
	"dynakv/storage"
	"dynakv/transport/memnet"
	"dynakv/versioning"
)

// convergeWithin bounds every wait for anti-entropy to finish something.
const convergeWithin = 15 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// cluster is an in-process cluster: real storage, local replicas,
// coordinators and anti-entropy on every node, the in-memory network
// between them, no hints (so nothing but anti-entropy repairs what the
// network drops), a liveness view the test sets as gossip would, and one
// clock for every node's anti-entropy that only the test moves.
type cluster struct {
	t     *testing.T
	net   *memnet.Network
	ring  *ring.Ring
	ids   []string
	dir   string
	clock *clock
	// tune adjusts each node's anti-entropy config before it starts.
	tune func(*antientropy.Config)
	// hinted: every node keeps and delivers hints (see newHintedCluster).
	hinted bool

	nodes map[string]*testNode // nil once stopped

	mu     sync.Mutex
	down   map[string]bool
	groups map[string]int
}

type testNode struct {
	id    string
	store *storage.Store
	local *replica.Local
	coord *replica.Coordinator
	ae    *antientropy.Manager
	hints *hints.Manager // nil unless the cluster is hinted
	reg   *prometheus.Registry
}

// clock is a settable clock shared by the nodes' anti-entropy.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type liveness struct {
	c    *cluster
	self string
}

func (l liveness) Alive(id string) bool {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	return !l.c.down[id] && l.c.groups[id] == l.c.groups[l.self]
}

type placement struct{ r *ring.Ring }

func (p placement) Locate(key []byte) (uint32, []string, []string) { return p.r.Locate(key) }
func (p placement) Replicas() int                                  { return p.r.Replicas() }
func (p placement) Primaries(partition uint32) []string {
	primaries, _ := p.r.PreferenceList(partition)
	return primaries
}

// newCluster starts size nodes, N=min(3,size), 16 partitions.
func newCluster(t *testing.T, size int, tune func(*antientropy.Config)) *cluster {
	t.Helper()
	return startNewCluster(t, size, tune, false)
}

// newHintedCluster is newCluster with hinted handoff on every node, as in
// a real node: sloppy quorum through fallbacks, hints kept for unreachable
// primaries. Hint ages follow the cluster's clock, so moving it past the
// tombstone grace also expires every older hint, as real time would.
func newHintedCluster(t *testing.T, size int, tune func(*antientropy.Config)) *cluster {
	t.Helper()
	return startNewCluster(t, size, tune, true)
}

func startNewCluster(t *testing.T, size int, tune func(*antientropy.Config), hinted bool) *cluster {
	t.Helper()
	c := &cluster{t: t, net: memnet.New(), dir: t.TempDir(), clock: &clock{now: time.Now()}, tune: tune, hinted: hinted,
		nodes: map[string]*testNode{}, down: map[string]bool{}, groups: map[string]int{}}
	for i := range size {
		c.ids = append(c.ids, fmt.Sprintf("n%d", i+1))
	}
	var err error
	if c.ring, err = ring.New(c.ids, ring.Config{Partitions: 16, N: 3}); err != nil {
		t.Fatal(err)
	}
	for _, id := range c.ids {
		c.start(id)
	}
	return c
}

// start starts node id on its data folder (kept across restarts).
func (c *cluster) start(id string) *testNode {
	c.t.Helper()
	opts := storage.DefaultOptions(filepath.Join(c.dir, id), id)
	opts.Sync = false
	opts.Logger = quiet
	st, err := storage.Open(opts)
	if err != nil {
		c.t.Fatal(err)
	}
	trees, err := antientropy.NewTrees(c.ring.Partitions(), merkle.Shape{FanoutBits: 4, Depth: 2})
	if err != nil {
		c.t.Fatal(err)
	}
	// Sibling timestamps follow the cluster clock too: a tombstone's age
	// is measured against it.
	local := replica.NewLocal(replica.LocalConfig{Store: st, MaxSiblings: 100, Logger: quiet, OnChange: trees.OnChange, Now: c.clock.Now})
	var hm *hints.Manager
	if c.hinted {
		hcfg := hints.DefaultConfig()
		hcfg.Store, hcfg.Transport, hcfg.Liveness, hcfg.Logger = st, c.net.Transport(id), liveness{c, id}, quiet
		hcfg.Now = c.clock.Now
		hcfg.DeliveryRate = 0 // the limiter's clock is the test's, which stands still
		hcfg.PollInterval, hcfg.BackoffMin, hcfg.BackoffMax = 20*time.Millisecond, 10*time.Millisecond, 50*time.Millisecond
		if hm, err = hints.New(hcfg); err != nil {
			c.t.Fatal(err)
		}
	}
	rcfg := replica.Config{
		Self: id, N: 3, DefaultTimeout: 2 * time.Second, Logger: quiet,
		Local: local, Placement: placement{c.ring}, Liveness: liveness{c, id},
		Transport: c.net.Transport(id),
	}
	if hm != nil {
		rcfg.Hints = hm // a nil *hints.Manager in the interface would not read as "no hints"
	}
	coord, err := replica.New(rcfg)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg := antientropy.DefaultConfig()
	cfg.Self, cfg.Trees, cfg.Store, cfg.Replica = id, trees, st, local
	cfg.Peers, cfg.Placement, cfg.Liveness = c.net.Transport(id), placement{c.ring}, liveness{c, id}
	cfg.Interval, cfg.Rate, cfg.ScanRate, cfg.Tick = 0, 0, 0, 5*time.Millisecond
	cfg.BatchKeys = 7 // several batches even for few keys
	cfg.Now, cfg.Seed, cfg.Logger = c.clock.Now, 1, quiet
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if c.tune != nil {
		c.tune(&cfg)
	}
	ae, err := antientropy.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	svc := replica.PeerService{Local: local, Coordinator: coord, AntiEntropy: ae}
	if hm != nil {
		svc.Hints = hm
		hm.Start()
	}
	c.net.Register(id, svc)
	ae.Start()
	n := &testNode{id: id, store: st, local: local, coord: coord, ae: ae, hints: hm, reg: reg}
	c.nodes[id] = n
	c.mu.Lock()
	delete(c.down, id)
	c.mu.Unlock()
	c.net.Up(id)
	c.t.Cleanup(func() { n.close() })
	return n
}

func (n *testNode) close() {
	n.ae.Close()
	n.coord.Close()
	if n.hints != nil {
		n.hints.Close()
	}
	n.store.Close() // a second Close of a stopped node only errs
}

// stop stops node id: its peers see it down.
func (c *cluster) stop(id string) {
	c.t.Helper()
	c.mu.Lock()
	c.down[id] = true
	c.mu.Unlock()
	c.net.Down(id)
	c.nodes[id].close()
	c.nodes[id] = nil
}

// wipe deletes a stopped node's data folder: it comes back as a new
// incarnation.
func (c *cluster) wipe(id string) {
	c.t.Helper()
	if err := os.RemoveAll(filepath.Join(c.dir, id)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) isolate(id string) {
	c.mu.Lock()
	c.groups[id] = 1
	c.mu.Unlock()
	c.net.Isolate(id)
}

func (c *cluster) heal() {
	c.mu.Lock()
	clear(c.groups)
	c.mu.Unlock()
	c.net.Heal()
}

func (c *cluster) partitionOf(key string) uint32 {
	p, _, _ := c.ring.Locate([]byte(key))
	return p
}

func (c *cluster) primaries(key string) []string {
	_, p, _ := c.ring.Locate([]byte(key))
	return p
}

func (c *cluster) put(at, key, value string, ctx versioning.Clock, w int) (*versioning.Set, error) {
	return c.nodes[at].coord.Put(context.Background(), []byte(key), replica.Write{Context: ctx, Value: []byte(value), ContentType: "text/plain"}, replica.WriteOptions{W: w})
}

func (c *cluster) del(at, key string, ctx versioning.Clock, w int) (*versioning.Set, error) {
	return c.nodes[at].coord.Put(context.Background(), []byte(key), replica.Write{Context: ctx, Delete: true}, replica.WriteOptions{W: w})
}

func (c *cluster) get(at, key string, r int) (*versioning.Set, error) {
	return c.nodes[at].coord.Get(context.Background(), []byte(key), replica.ReadOptions{R: r})
}

// stored is node id's own copy of key, unmerged.
func (c *cluster) stored(id, key string) *versioning.Set {
	c.t.Helper()
	s, err := c.nodes[id].local.Read(c.partitionOf(key), []byte(key))
	if err != nil {
		c.t.Fatalf("read %s on %s: %v", key, id, err)
	}
	return s
}

// storedKeys counts the keys in node id's storage, tombstones included.
func (c *cluster) storedKeys(id string) int {
	c.t.Helper()
	n := 0
	for p := range uint32(c.ring.Partitions()) {
		if err := c.nodes[id].store.ScanPartition(p, func(_, _ []byte) error { n++; return nil }); err != nil {
			c.t.Fatal(err)
		}
	}
	return n
}

// waitTrees waits until every running node has built all its trees.
func (c *cluster) waitTrees() {
	c.t.Helper()
	testutil.Eventually(c.t, convergeWithin, "every node's trees to be built", func() bool {
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			st := n.ae.Status()
			if st.Partitions == 0 || st.TreesBuilt != st.Partitions {
				return false
			}
		}
		return true
	})
}

// repair runs an on-demand repair of every partition on node at, and
// waits for it to finish.
func (c *cluster) repair(at string) antientropy.RunStatus {
	c.t.Helper()
	run, err := c.nodes[at].ae.Repair()
	if err != nil {
		c.t.Fatalf("repair on %s: %v", at, err)
	}
	var final antientropy.RunStatus
	testutil.Eventually(c.t, convergeWithin, fmt.Sprintf("repair run %d on %s to finish", run.ID, at), func() bool {
		for _, r := range c.nodes[at].ae.Status().Runs {
			if r.ID == run.ID && !r.Finished.IsZero() {
				final = r
				return true
			}
		}
		return false
	})
	return final
}

// repairEverywhere repairs on every running node, one after the other.
func (c *cluster) repairEverywhere() {
	c.t.Helper()
	for _, id := range c.ids {
		if c.nodes[id] != nil {
			if r := c.repair(id); r.Failed != 0 {
				c.t.Fatalf("repair on %s: %d partitions failed", id, r.Failed)
			}
		}
	}
}

// visible returns the visible values of s, sorted.
func visible(s *versioning.Set) []string {
	var out []string
	for _, sib := range s.Visible() {
		out = append(out, string(sib.Value))
	}
	slices.Sort(out)
	return out
}
