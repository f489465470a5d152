package replica_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"dynakv/hints"
	"dynakv/replica"
	"dynakv/ring"
	"dynakv/storage"
	"dynakv/transport/memnet"
	"dynakv/versioning"
)

// cluster is an in-process cluster: real storage and coordinators on every
// node, the in-memory network between them, and a liveness view per node
// that the test sets as gossip would (partitioned nodes see each other dead).
type cluster struct {
	t      *testing.T
	net    *memnet.Network
	ring   *ring.Ring
	ids    []string
	nodes  map[string]*replica.Coordinator
	locals map[string]*replica.Local
	hints  map[string]*hints.Manager

	mu     sync.Mutex
	down   map[string]bool
	groups map[string]int // partition group of each node; all 0 when healed
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

func newCluster(t *testing.T, size int) *cluster {
	t.Helper()
	return newClusterWith(t, size, nil)
}

// newClusterWith is newCluster with each node's storage options changed by
// edit (nil: none).
func newClusterWith(t *testing.T, size int, edit func(id string, o *storage.Options)) *cluster {
	t.Helper()
	c := &cluster{t: t, net: memnet.New(), nodes: map[string]*replica.Coordinator{}, locals: map[string]*replica.Local{},
		hints: map[string]*hints.Manager{}, down: map[string]bool{}, groups: map[string]int{}}
	for i := range size {
		c.ids = append(c.ids, fmt.Sprintf("n%d", i+1))
	}
	var err error
	if c.ring, err = ring.New(c.ids, ring.Config{Partitions: 64, N: 3}); err != nil {
		t.Fatal(err)
	}
	for _, id := range c.ids {
		opts := storage.DefaultOptions(t.TempDir(), id)
		opts.Sync = false
		opts.Logger = quiet
		if edit != nil {
			edit(id, &opts)
		}
		st, err := storage.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		local := replica.NewLocal(replica.LocalConfig{Store: st, MaxSiblings: 100, Logger: quiet})
		hcfg := hints.DefaultConfig()
		hcfg.Store, hcfg.Transport, hcfg.Liveness, hcfg.Logger = st, c.net.Transport(id), liveness{c, id}, quiet
		hcfg.PollInterval, hcfg.BackoffMin, hcfg.BackoffMax = 20*time.Millisecond, 10*time.Millisecond, 50*time.Millisecond
		hm, err := hints.New(hcfg)
		if err != nil {
			t.Fatal(err)
		}
		coord, err := replica.New(replica.Config{
			Self: id, N: 3, DefaultTimeout: 2 * time.Second, Logger: quiet,
			Local: local, Placement: placement{c.ring}, Liveness: liveness{c, id},
			Transport: c.net.Transport(id), Hints: hm,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.net.Register(id, replica.PeerService{Local: local, Coordinator: coord, Hints: hm})
		c.nodes[id], c.locals[id], c.hints[id] = coord, local, hm
		hm.Start()
		t.Cleanup(func() { coord.Close(); hm.Close(); st.Close() })
	}
	return c
}

var quiet = slog.New(slog.DiscardHandler)

type placement struct{ r *ring.Ring }

func (p placement) Locate(key []byte) (uint32, []string, []string) { return p.r.Locate(key) }
func (p placement) Replicas() int                                  { return p.r.Replicas() }
func (p placement) Partitions() int                                { return p.r.Partitions() }
func (p placement) PreferenceList(partition uint32) ([]string, []string) {
	return p.r.PreferenceList(partition)
}

func (c *cluster) kill(id string) {
	c.mu.Lock()
	c.down[id] = true
	c.mu.Unlock()
	c.net.Down(id)
}

// revive brings a killed node back and tells every node, as gossip would.
func (c *cluster) revive(id string) {
	c.mu.Lock()
	delete(c.down, id)
	c.mu.Unlock()
	c.net.Up(id)
	for _, h := range c.hints {
		h.TargetAlive(id)
	}
}

// stored is what node id holds for key in its own storage, unmerged.
func (c *cluster) stored(id, key string) []string {
	partition, _, _ := c.ring.Locate([]byte(key))
	s, err := c.locals[id].Read(partition, []byte(key))
	if err != nil {
		c.t.Fatal(err)
	}
	return values(s)
}

func (c *cluster) partition(groups ...[]string) {
	c.mu.Lock()
	for g, ids := range groups {
		for _, id := range ids {
			c.groups[id] = g
		}
	}
	c.mu.Unlock()
	c.net.Partition(groups...)
}

func (c *cluster) heal() {
	c.mu.Lock()
	clear(c.groups)
	c.mu.Unlock()
	c.net.Heal()
	for _, h := range c.hints {
		h.Notify()
	}
}

func (c *cluster) primaries(key string) []string {
	_, p, _ := c.ring.Locate([]byte(key))
	return p
}

// nonPrimary returns a node that is not a primary of key.
func (c *cluster) nonPrimary(key string) string {
	for _, id := range c.ids {
		if !slices.Contains(c.primaries(key), id) {
			return id
		}
	}
	c.t.Fatalf("every node is a primary of %q", key)
	return ""
}

func (c *cluster) put(at, key, value string, ctx versioning.Clock, opts replica.WriteOptions) (*versioning.Set, error) {
	return c.nodes[at].Put(context.Background(), []byte(key), replica.Write{Context: ctx, Value: []byte(value), ContentType: "text/plain"}, opts)
}

func (c *cluster) get(at, key string, opts replica.ReadOptions) (*versioning.Set, error) {
	return c.nodes[at].Get(context.Background(), []byte(key), opts)
}

func values(s *versioning.Set) []string {
	var out []string
	for _, sib := range s.Visible() {
		out = append(out, string(sib.Value))
	}
	slices.Sort(out)
	return out
}

func TestClusterEveryLevelOnEveryOperation(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			c := newCluster(t, size)
			for _, level := range []int{1, 2, 3} {
				for _, at := range c.ids {
					key := fmt.Sprintf("k-%d-%s", level, at)
					w := replica.WriteOptions{W: level, PW: level}
					r := replica.ReadOptions{R: level, PR: level}
					if _, err := c.put(at, key, "v1", nil, w); err != nil {
						t.Fatalf("put w=%d at %s: %v", level, at, err)
					}
					for _, reader := range c.ids {
						got, err := c.get(reader, key, r)
						if err != nil {
							t.Fatalf("get r=%d at %s: %v", level, reader, err)
						}
						// r + w > N guarantees the read sees the write.
						if level >= 2 && !slices.Equal(values(got), []string{"v1"}) {
							t.Fatalf("r=w=%d read at %s = %v, want [v1]", level, reader, values(got))
						}
					}
					got, _ := c.get(at, key, replica.ReadOptions{R: 3})
					del, err := c.nodes[at].Put(context.Background(), []byte(key), replica.Write{Context: got.Context(), Delete: true}, w)
					if err != nil {
						t.Fatalf("delete w=%d at %s: %v", level, at, err)
					}
					if !del.Deleted() {
						t.Fatalf("delete did not leave a tombstone: %v", del)
					}
				}
			}
			// Every replica ends up with the deletes: check through r=all.
			for _, at := range c.ids {
				got, err := c.get(at, "k-3-"+at, replica.ReadOptions{R: 3})
				if err != nil || !got.Deleted() {
					t.Fatalf("after delete, r=all read of k-3-%s: %v, %v", at, got, err)
				}
			}
		})
	}
}

func TestClusterWriteThroughANonPrimaryIsForwarded(t *testing.T) {
	c := newCluster(t, 5)
	key := "forwarded"
	at := c.nonPrimary(key)
	if _, err := c.put(at, key, "v", nil, replica.WriteOptions{W: 3}); err != nil {
		t.Fatalf("put at non-primary %s: %v", at, err)
	}
	for _, p := range c.primaries(key) {
		got, err := c.get(p, key, replica.ReadOptions{R: 3})
		if err != nil || !slices.Equal(values(got), []string{"v"}) {
			t.Fatalf("read at %s: %v, %v", p, values(got), err)
		}
	}
}

func TestClusterKilledNode(t *testing.T) {
	c := newCluster(t, 3)
	key := "k"
	c.kill("n3")
	for _, at := range []string{"n1", "n2"} {
		if _, err := c.put(at, key, "v-"+at, nil, replica.WriteOptions{W: 2}); err != nil {
			t.Fatalf("quorum write with one node down, at %s: %v", at, err)
		}
		if _, err := c.get(at, key, replica.ReadOptions{R: 2}); err != nil {
			t.Fatalf("quorum read with one node down, at %s: %v", at, err)
		}
	}
	var unavailable *replica.UnavailableError
	if _, err := c.put("n1", key, "x", nil, replica.WriteOptions{W: 3}); !errors.As(err, &unavailable) {
		t.Fatalf("w=all with a node down: err = %v, want UnavailableError", err)
	}
	if unavailable.Needed != 3 || unavailable.Alive != 2 {
		t.Fatalf("unavailable names needed=%d alive=%d, want 3 and 2", unavailable.Needed, unavailable.Alive)
	}
	if _, err := c.get("n1", key, replica.ReadOptions{R: 3}); !errors.As(err, &unavailable) {
		t.Fatalf("r=all with a node down: err = %v, want UnavailableError", err)
	}
	if _, err := c.put("n1", key, "x", nil, replica.WriteOptions{W: 1, PW: 3}); !errors.As(err, &unavailable) {
		t.Fatalf("pw=all with a node down: err = %v, want UnavailableError", err)
	}
	// The refused write wrote nothing.
	got, err := c.get("n1", key, replica.ReadOptions{R: 2})
	if err != nil || slices.Contains(values(got), "x") {
		t.Fatalf("a refused write left a value: %v, %v", values(got), err)
	}
}

// A node that gossip still believes alive but that does not answer: a level
// that needs it fails with a TimeoutError naming who acked, at once rather
// than at the deadline.
func TestClusterUnreachableNodeFailsTheLevelFast(t *testing.T) {
	c := newCluster(t, 3)
	c.net.Down("n3") // liveness still says alive
	start := time.Now()
	_, err := c.put("n1", "k", "v", nil, replica.WriteOptions{W: 3, Timeout: 5 * time.Second})
	var timeout *replica.TimeoutError
	if !errors.As(err, &timeout) {
		t.Fatalf("err = %v, want TimeoutError", err)
	}
	// It answers as soon as the level is out of reach, so n2's ack may or
	// may not have arrived yet; the coordinator's own copy always has.
	if !slices.Contains(timeout.AckedBy, "n1") || slices.Contains(timeout.AckedBy, "n3") || timeout.Acked != len(timeout.AckedBy) {
		t.Fatalf("timeout error names acked=%d by %v, want n1 and never n3", timeout.Acked, timeout.AckedBy)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Fatalf("waited %v for a level that could not be met", waited)
	}
}

func TestClusterSlowReplicaTimesOutAndRetryAddsNoSibling(t *testing.T) {
	c := newCluster(t, 3)
	base, err := c.put("n1", "k", "base", nil, replica.WriteOptions{W: 3})
	if err != nil {
		t.Fatal(err)
	}
	c.net.SetDelay("n1", "n3", time.Hour)
	c.net.SetDelay("n1", "n2", time.Hour)
	_, err = c.put("n1", "k", "new", base.Context(), replica.WriteOptions{W: 2, Timeout: 100 * time.Millisecond})
	var timeout *replica.TimeoutError
	if !errors.As(err, &timeout) || timeout.Acked != 1 || timeout.AckedBy[0] != "n1" {
		t.Fatalf("err = %v, want a TimeoutError with only n1 acked", err)
	}
	c.net.SetDelay("n1", "n3", 0)
	c.net.SetDelay("n1", "n2", 0)
	// The client retries the same write with the same context, through another node.
	if _, err := c.put("n2", "k", "new", base.Context(), replica.WriteOptions{W: 3}); err != nil {
		t.Fatalf("retry: %v", err)
	}
	got, err := c.get("n3", "k", replica.ReadOptions{R: 3})
	if err != nil || !slices.Equal(values(got), []string{"new"}) {
		t.Fatalf("after retry, r=all read = %v, %v; want exactly [new]", values(got), err)
	}
}

// A minority partition keeps accepting w=one for keys it holds a replica of,
// refuses quorum at once, and after healing every replica sees both sides'
// writes as siblings.
func TestClusterPartitionThenHealKeepsBothSides(t *testing.T) {
	c := newCluster(t, 5)
	// A key with a primary on each side of the cut.
	minority := []string{"n1", "n2"}
	majority := []string{"n3", "n4", "n5"}
	var key string
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("split-%d", i)
		p := c.primaries(k)
		if slices.ContainsFunc(p, func(id string) bool { return slices.Contains(minority, id) }) &&
			slices.ContainsFunc(p, func(id string) bool { return slices.Contains(majority, id) }) {
			key = k
		}
	}
	base, err := c.put("n3", key, "base", nil, replica.WriteOptions{W: 3})
	if err != nil {
		t.Fatal(err)
	}
	c.partition(minority, majority)

	var unavailable *replica.UnavailableError
	if _, err := c.put("n1", key, "q", base.Context(), replica.WriteOptions{W: 3}); !errors.As(err, &unavailable) {
		t.Fatalf("w=all on the minority side: err = %v, want UnavailableError", err)
	}
	if _, err := c.put("n1", key, "left", base.Context(), replica.WriteOptions{W: 1}); err != nil {
		t.Fatalf("w=one on the minority side: %v", err)
	}
	if _, err := c.put("n4", key, "right", base.Context(), replica.WriteOptions{W: 1}); err != nil {
		t.Fatalf("w=one on the majority side: %v", err)
	}

	c.heal()
	got, err := c.get("n5", key, replica.ReadOptions{R: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"left", "right"}; !slices.Equal(values(got), want) {
		t.Fatalf("after heal, r=all read = %v, want siblings %v", values(got), want)
	}
	// A write with the read's context resolves them.
	if _, err := c.put("n2", key, "resolved", got.Context(), replica.WriteOptions{W: 3}); err != nil {
		t.Fatal(err)
	}
	for _, at := range c.ids {
		got, err := c.get(at, key, replica.ReadOptions{R: 3})
		if err != nil || !slices.Equal(values(got), []string{"resolved"}) {
			t.Fatalf("read at %s after resolving: %v, %v", at, values(got), err)
		}
	}
}

func TestClusterConcurrentWritersLoseNothing(t *testing.T) {
	c := newCluster(t, 3)
	var wg sync.WaitGroup
	const writers = 12
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := c.ids[i%len(c.ids)]
			if _, err := c.put(at, "contended", fmt.Sprintf("w%02d", i), nil, replica.WriteOptions{W: 2}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := c.get("n1", "contended", replica.ReadOptions{R: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(values(got)); n != writers {
		t.Fatalf("r=all read shows %d of %d concurrent blind writes: %v", n, writers, values(got))
	}
}
