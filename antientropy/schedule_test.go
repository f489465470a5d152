package antientropy

import (
	"sync"
	"testing"
	"time"

	"dynakv/merkle"
)

// ringStub is a placement the test changes.
type ringStub struct {
	mu    sync.Mutex
	owned map[uint32]bool
}

func (r *ringStub) Primaries(p uint32) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owned[p] {
		return []string{"self", "peer"}
	}
	return []string{"peer", "other"}
}

// The Manager follows the ring: a partition it becomes a primary of gets a
// schedule and a tree to build, one it loses is dropped, and trees are
// rebuilt when their interval has passed.
func TestReconcileFollowsTheRing(t *testing.T) {
	trees, err := NewTrees(4, merkle.Shape{FanoutBits: 2, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	ring := &ringStub{owned: map[uint32]bool{1: true, 2: true}}
	cfg := DefaultConfig()
	cfg.Self, cfg.Trees, cfg.Store, cfg.Replica, cfg.Peers, cfg.Placement, cfg.Liveness = "self", trees, &fakeStore{live: nil}, stub{}, stub{}, ring, stub{}
	cfg.Interval, cfg.RebuildInterval, cfg.Seed = time.Minute, time.Hour, 1
	cfg.Now = func() time.Time { return now }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	m.reconcile()
	if !trees.info(1).owned || !trees.info(2).owned || trees.info(0).owned {
		t.Fatal("the manager does not track exactly partitions 1 and 2")
	}
	if p, ok := m.popRebuild(); !ok || p != 1 {
		t.Fatalf("first rebuild queued: %d, %v; want 1", p, ok)
	}
	if err := m.rebuild(1); err != nil {
		t.Fatal(err)
	}
	m.sched[1].nextRebuild = now.Add(time.Hour)
	for _, s := range m.sched[1:3] {
		if s.nextExchange.Before(now) || s.nextExchange.After(now.Add(time.Minute)) {
			t.Errorf("first exchange at %v, want within one interval of %v", s.nextExchange, now)
		}
	}

	ring.mu.Lock()
	ring.owned = map[uint32]bool{1: true, 3: true}
	ring.mu.Unlock()
	m.reconcile()
	if trees.info(2).owned || !trees.info(3).owned || !trees.info(1).built {
		t.Fatalf("after the ring changed: 2 %+v, 3 %+v, 1 %+v", trees.info(2), trees.info(3), trees.info(1))
	}
	if st := m.Status(); st.Partitions != 2 || st.TreesBuilt != 1 {
		t.Errorf("status counts %d partitions, %d trees built; want 2 and 1", st.Partitions, st.TreesBuilt)
	}

	now = now.Add(2 * time.Hour)
	m.reconcile()
	m.mu.Lock()
	queued := m.queued[1]
	m.mu.Unlock()
	if !queued {
		t.Error("a tree past its rebuild interval was not queued")
	}
	// A scheduled exchange is due now for the built partition only.
	if j, ok := m.nextJob(); !ok || j.p != 1 || j.run != nil {
		t.Errorf("next job %+v, %v; want the scheduled exchange of partition 1", j, ok)
	}
	if j, ok := m.nextJob(); ok {
		t.Errorf("a second job %+v is due right after", j)
	}
}
