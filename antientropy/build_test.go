package antientropy

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/versioning"
)

// fakeStore is a partition of storage whose scans call a hook before each
// key, so a test can commit and report changes at chosen points of a scan.
type fakeStore struct {
	mu     sync.Mutex
	live   map[string]*versioning.Set
	before func(key string) // called before the scan hands key over
}

func (s *fakeStore) ScanPartition(_ uint32, fn func(key, value []byte) error) error {
	s.mu.Lock()
	snap := maps.Clone(s.live) // the snapshot
	s.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(snap)) {
		if s.before != nil {
			s.before(k)
		}
		if err := fn([]byte(k), snap[k].AppendBinary(nil)); err != nil {
			return err
		}
	}
	if s.before != nil {
		s.before(endOfScan) // the scan ends: every key has been passed
	}
	return nil
}

// endOfScan is the key fakeStore's hook sees when the scan ends.
const endOfScan = "\xff\xff"

func (s *fakeStore) set(key string, v *versioning.Set) (before *versioning.Set) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before = s.live[key]
	if v == nil {
		delete(s.live, key)
	} else {
		s.live[key] = v
	}
	return before
}

// stub satisfies the dependencies a rebuild does not use.
type stub struct{}

func (stub) Read(uint32, []byte) (*versioning.Set, error)                   { return nil, nil }
func (stub) Merge(uint32, []byte, *versioning.Set) (*versioning.Set, error) { return nil, nil }
func (stub) ReapIfUnchanged(uint32, []byte, *versioning.Set) (bool, error)  { return false, nil }
func (stub) TreeHashes(context.Context, string, uint32, merkle.Request) (merkle.Response, error) {
	return merkle.Response{}, nil
}
func (stub) TreeListing(context.Context, string, uint32, merkle.Shape, []int) (*merkle.Listing, error) {
	return nil, nil
}
func (stub) ExchangeStates(context.Context, string, []replica.KeyState) ([]replica.KeyState, error) {
	return nil, nil
}
func (stub) ReapTombstones(context.Context, string, []replica.KeyState) ([]bool, error) {
	return nil, nil
}
func (stub) Primaries(uint32) []string { return []string{"self"} }
func (stub) Alive(string) bool         { return true }

func newTestManager(t *testing.T, store Scanner) *Manager {
	t.Helper()
	trees, err := NewTrees(1, merkle.Shape{FanoutBits: 2, Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Self, cfg.Trees, cfg.Store, cfg.Replica, cfg.Peers, cfg.Placement, cfg.Liveness = "self", trees, store, stub{}, stub{}, stub{}, stub{}
	cfg.Rate, cfg.ScanRate, cfg.Seed = 0, 0, 1
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	trees.own(0)
	return m
}

// version returns the n-th state of a key: a value, or a tombstone.
func version(n int, deleted bool) *versioning.Set {
	ev := versioning.Event{Dot: versioning.Dot{Actor: "w.1", Counter: uint64(n)}, Modified: int64(n)}
	s, err := (*versioning.Set)(nil).Update(nil, ev, versioning.Sibling{Value: fmt.Appendf(nil, "v%d", n), Deleted: deleted}, 0)
	if err != nil {
		panic(err)
	}
	return s
}

// A tree rebuilt while changes land, and are reported late and out of
// order, ends exactly as a tree built from the final storage, as long as
// no change committed before the snapshot is reported only after the scan
// passed its key (the one case the package doc allows to drift). Keys are
// created, changed, turned into tombstones, and reaped before the build.
func TestRebuildDuringChangesIsExact(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { rebuildUnderChanges(t, seed) })
	}
}

func rebuildUnderChanges(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	store := &fakeStore{live: map[string]*versioning.Set{}}
	m := newTestManager(t, store)
	keys := make([]string, 12)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d", i)
	}
	next := 0
	// change commits a change and returns its report. Reaps (after nil)
	// only happen outside builds: withoutBuild keeps them out.
	change := func(mayReap bool) func() {
		next++
		k := keys[rng.IntN(len(keys))]
		var after *versioning.Set
		if !mayReap || rng.IntN(4) > 0 {
			after = version(next, rng.IntN(3) == 0)
		}
		before := store.set(k, after)
		return func() { m.trees.OnChange(0, []byte(k), before, after) }
	}
	for range 8 { // committed and reported before the rebuild
		change(true)()
	}
	// Committed before the snapshot, reported during the scan but before
	// it passes the key.
	early := map[string][]func(){}
	for range 4 {
		next++
		k := keys[rng.IntN(len(keys))]
		after := version(next, rng.IntN(3) == 0)
		before := store.set(k, after)
		early[k] = append(early[k], func() { m.trees.OnChange(0, []byte(k), before, after) })
	}
	var late []func() // committed after the snapshot, reported any time later
	report := func(n int) {
		for range min(n, len(late)) {
			i := rng.IntN(len(late))
			late[i]()
			late = slices.Delete(late, i, i+1)
		}
	}
	store.before = func(key string) {
		for k, fns := range early {
			if k <= key {
				for _, fn := range fns {
					fn()
				}
				delete(early, k)
			}
		}
		for range rng.IntN(3) {
			late = append(late, change(false))
		}
		report(rng.IntN(3))
	}
	if err := m.rebuild(0); err != nil {
		t.Fatal(err)
	}
	if len(early) != 0 {
		t.Fatalf("early reports left after the scan: %v", early)
	}
	report(len(late))

	want, err := merkle.New(m.shape)
	if err != nil {
		t.Fatal(err)
	}
	tombstones := 0
	for k, s := range store.live {
		want.Insert([]byte(k), merkle.VersionHash(s))
		tombstones += isTombstone(s)
	}
	pt := &m.trees.parts[0]
	pt.mu.RLock()
	defer pt.mu.RUnlock()
	if pt.tree == nil {
		t.Fatal("no tree after the rebuild")
	}
	if pt.tree.Root() != want.Root() || pt.tree.Len() != want.Len() || pt.tombstones != tombstones {
		t.Fatalf("rebuilt tree: %d keys, %d tombstones, root %x; storage: %d keys, %d tombstones, root %x",
			pt.tree.Len(), pt.tombstones, pt.tree.Root(), want.Len(), tombstones, want.Root())
	}
}

// Changes to a partition this node is not a primary of are ignored, and a
// rebuild of a partition dropped meanwhile installs nothing.
func TestTreesFollowOwnership(t *testing.T) {
	store := &fakeStore{live: map[string]*versioning.Set{"a": version(1, false)}}
	m := newTestManager(t, store)
	if err := m.rebuild(0); err != nil {
		t.Fatal(err)
	}
	if info := m.trees.info(0); !info.built || info.keys != 1 {
		t.Fatalf("after a rebuild: %+v", info)
	}
	m.trees.OnChange(0, []byte("b"), nil, version(2, true))
	if info := m.trees.info(0); info.keys != 2 || info.tombstones != 1 {
		t.Fatalf("after a change: %+v, want 2 keys, 1 tombstone", info)
	}
	m.trees.OnChange(9, []byte("x"), nil, version(3, false)) // out of range: ignored
	store.before = func(string) { m.trees.disown(0) }
	if err := m.rebuild(0); err != nil {
		t.Fatalf("a rebuild superseded by a lost partition: %v", err)
	}
	if info := m.trees.info(0); info.owned || info.built {
		t.Fatalf("a dropped partition kept a tree: %+v", info)
	}
	m.trees.OnChange(0, []byte("c"), nil, version(4, false))
	if info := m.trees.info(0); info.keys != 0 {
		t.Fatalf("a change to a dropped partition was tracked: %+v", info)
	}
	if _, err := m.trees.answer(0, merkle.Request{Shape: m.shape, Nodes: []int{0}}); err == nil {
		t.Error("a partition without a tree answered a tree request")
	}
}

// No key is reaped while its partition's tree is being rebuilt, and a reap
// in flight when a rebuild starts is over before the build begins.
func TestNoReapDuringARebuild(t *testing.T) {
	store := &fakeStore{live: map[string]*versioning.Set{"a": version(1, true)}}
	m := newTestManager(t, store)
	ran := 0
	reap := func() (bool, error) { ran++; return true, nil }
	store.before = func(key string) {
		if key == endOfScan {
			return
		}
		if ok, err := m.trees.withoutBuild(0, reap); ok || err != nil {
			t.Errorf("a reap ran during the build: %v, %v", ok, err)
		}
	}
	if err := m.rebuild(0); err != nil {
		t.Fatal(err)
	}
	if ran != 0 {
		t.Fatalf("%d reaps ran during the build", ran)
	}
	if ok, err := m.trees.withoutBuild(0, reap); !ok || err != nil || ran != 1 {
		t.Fatalf("a reap after the build: %v, %v (ran %d)", ok, err, ran)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(100, func() time.Time { return now }) // burst 10
	if d := l.reserve(10); d != 0 {
		t.Fatalf("the burst waits %v", d)
	}
	if d := l.reserve(5); d != 50*time.Millisecond {
		t.Fatalf("5 tokens past the burst wait %v, want 50ms", d)
	}
	now = now.Add(50 * time.Millisecond) // the debt is paid
	if d := l.reserve(1); d != 10*time.Millisecond {
		t.Fatalf("one more waits %v, want 10ms", d)
	}
	now = now.Add(time.Hour) // idle: the bucket refills to the burst only
	if d := l.reserve(10); d != 0 {
		t.Fatalf("after idling the burst waits %v", d)
	}
	if d := l.reserve(1); d == 0 {
		t.Fatal("idling stored more than the burst")
	}
	if d := newLimiter(0, nil).reserve(1 << 30); d != 0 {
		t.Fatalf("rate 0 waits %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx, 1000); err == nil {
		t.Error("wait on a cancelled context returned nil")
	}
}
