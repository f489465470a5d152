package replica

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"dynakv/storage"
	"dynakv/versioning"
)

// change is one OnChange report.
type change struct {
	key           string
	before, after *versioning.Set
}

// openReapLocal returns a Local whose OnChange reports are recorded.
func openReapLocal(t *testing.T) (*Local, *storage.Store, func() []change) {
	t.Helper()
	opts := storage.DefaultOptions(t.TempDir(), "n1")
	opts.Sync = false
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := storage.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var mu sync.Mutex
	var changes []change
	l := NewLocal(LocalConfig{Store: st, Logger: slog.New(slog.DiscardHandler), OnChange: func(_ uint32, key []byte, before, after *versioning.Set) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, change{string(key), before, after})
	}})
	return l, st, func() []change {
		mu.Lock()
		defer mu.Unlock()
		return append([]change(nil), changes...)
	}
}

// writeDeleteReap writes value under key, deletes it with the write's
// context, and reaps the tombstone: what a key goes through before a reap.
func writeDeleteReap(t *testing.T, l *Local, key []byte, value string) (written, tomb *versioning.Set) {
	t.Helper()
	written, err := l.Coordinate(3, key, Write{Value: []byte(value)})
	if err != nil {
		t.Fatal(err)
	}
	if tomb, err = l.Coordinate(3, key, Write{Context: written.Context(), Delete: true}); err != nil {
		t.Fatal(err)
	}
	if reaped, err := l.ReapIfUnchanged(3, key, tomb); err != nil || !reaped {
		t.Fatalf("ReapIfUnchanged = %v, %v; want true", reaped, err)
	}
	return written, tomb
}

func TestReapDeletesAnUnchangedTombstoneAndReportsIt(t *testing.T) {
	l, st, changes := openReapLocal(t)
	key := []byte("k")
	_, tomb := writeDeleteReap(t, l, key, "v")
	if _, err := st.Get(3, key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the reaped key is still stored: %v", err)
	}
	last := changes()[len(changes())-1]
	if last.key != "k" || !last.before.Equal(tomb) || last.after != nil {
		t.Errorf("OnChange got %+v, want the tombstone going to nil", last)
	}
	if reaped, err := l.ReapIfUnchanged(3, key, tomb); err != nil || reaped {
		t.Errorf("reaping a key no longer stored = %v, %v; want false", reaped, err)
	}
}

func TestReapLeavesAKeyThatMovedOn(t *testing.T) {
	l, _, changes := openReapLocal(t)
	key := []byte("k")
	v, _ := l.Coordinate(3, key, Write{Value: []byte("v")})
	tomb, _ := l.Coordinate(3, key, Write{Context: v.Context(), Delete: true})
	// A write the reaper never saw lands after its read: it must survive.
	now, err := l.Coordinate(3, key, Write{Context: tomb.Context(), Value: []byte("again")})
	if err != nil {
		t.Fatal(err)
	}
	n := len(changes())
	if reaped, err := l.ReapIfUnchanged(3, key, tomb); err != nil || reaped {
		t.Fatalf("ReapIfUnchanged = %v, %v; want false", reaped, err)
	}
	got, err := l.Read(3, key)
	if err != nil || !got.Equal(now) {
		t.Fatalf("after a refused reap the key holds %+v, %v; want the newer write", got, err)
	}
	if len(changes()) != n {
		t.Error("a refused reap was reported as a change")
	}
	// The later write's dot is fresh: after a reap, a new write never
	// reuses a dot a replica may still count as seen.
	if now.Context().Get(l.Actor()) <= tomb.Context().Get(l.Actor()) {
		t.Errorf("the write after the delete reused a dot: %v then %v", tomb.Context(), now.Context())
	}
}

func TestReapRefusesValues(t *testing.T) {
	l, _, _ := openReapLocal(t)
	v, _ := l.Coordinate(3, []byte("k"), Write{Value: []byte("v")})
	if _, err := l.ReapIfUnchanged(3, []byte("k"), v); !errors.Is(err, ErrNotTombstone) {
		t.Errorf("reaping a value: err = %v, want ErrNotTombstone", err)
	}
	if _, err := l.ReapIfUnchanged(3, []byte("k"), nil); !errors.Is(err, ErrNotTombstone) {
		t.Errorf("reaping no state: err = %v, want ErrNotTombstone", err)
	}
	if got, _ := l.Read(3, []byte("k")); !got.Equal(v) {
		t.Error("a refused reap changed the key")
	}
}

// Dots stay fresh across a reap: a write after the key was reaped gets a
// counter above every dot the node minted before, so replicas that still
// hold the tombstone see the new write as newer, never as already seen.
func TestWriteAfterReapIsFresh(t *testing.T) {
	l, _, _ := openReapLocal(t)
	key := []byte("k")
	v, _ := l.Coordinate(3, key, Write{Value: []byte("v")})
	tomb, _ := l.Coordinate(3, key, Write{Context: v.Context(), Delete: true})
	if reaped, err := l.ReapIfUnchanged(3, key, tomb); err != nil || !reaped {
		t.Fatalf("reap: %v, %v", reaped, err)
	}
	fresh, err := l.Coordinate(3, key, Write{Value: []byte("new")})
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Context().Get(l.Actor()) <= tomb.Context().Get(l.Actor()) {
		t.Fatalf("write after reap has dot %v, not above the tombstone's %v", fresh.Context(), tomb.Context())
	}
	// A replica that still holds the tombstone keeps the new write.
	merged := versioning.Merge(tomb, fresh)
	if vals := visible(merged); len(vals) != 1 || !vals["new"] {
		t.Errorf("the tombstone merged with the new write shows %v, want only new", vals)
	}
}

// A state read before a reap and merged after it (an exchange or repair in
// flight) holds only what the tombstone superseded: the replica drops it
// for as long as it remembers the reap, so the deleted value does not come
// back; a write the delete never saw is stored as usual. Past the window,
// merges are plain again.
func TestAStateOlderThanARecentReapIsNotMergedBack(t *testing.T) {
	l, st, _ := openReapLocal(t)
	now := time.Now()
	l.now = func() time.Time { return now }
	key := []byte("k")
	old, _ := writeDeleteReap(t, l, key, "deleted")
	for _, merge := range []func() error{
		func() error { _, err := l.Merge(3, key, old); return err },
		func() error { return l.MergeBatch([]KeyState{{Partition: 3, Key: key, State: old}}) },
	} {
		if err := merge(); err != nil {
			t.Fatal(err)
		}
		if v, err := st.Get(3, key); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("a state older than the reaped tombstone brought the key back: %q, %v", v, err)
		}
	}

	// A concurrent write the delete never saw is not older: it is kept.
	other := &versioning.Set{}
	other, err := other.Update(nil, versioning.Event{Dot: versioning.Dot{Actor: "n2.1", Counter: 1}}, versioning.Sibling{Value: []byte("concurrent")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.MergeBatch([]KeyState{{Partition: 3, Key: key, State: other}}); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Read(3, key); err != nil || got.NumVisible() != 1 {
		t.Fatalf("a write the reaped tombstone does not cover was dropped: %+v, %v", got, err)
	}

	// Past the window the memory is gone.
	if !l.reaped.supersedes(3, key, old, now) {
		t.Fatal("the reap is not remembered inside the window")
	}
	if l.reaped.supersedes(3, key, old, now.Add(reapMemoryWindow+time.Second)) {
		t.Error("the reap is still remembered past the window")
	}
}

// A primary whose own reap was skipped hands its tombstone back to the
// others, to be reaped again later: that state brings nothing back, and the
// replicas that reaped it take it.
func TestAReapedTombstoneHandedBackIsTaken(t *testing.T) {
	l, st, _ := openReapLocal(t)
	key := []byte("k")
	_, tomb := writeDeleteReap(t, l, key, "v")
	if _, err := l.Merge(3, key, tomb); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(3, key); err != nil {
		t.Fatalf("the handed-back tombstone was not taken: %v", err)
	}
}

// The memory forgets reaps past the window, and the oldest past its size
// bound, whenever it learns of a new one.
func TestReapMemoryForgetsOldAndExcessReaps(t *testing.T) {
	var m reapMemory
	tomb := &versioning.Set{}
	now := time.Now()
	m.add(1, []byte("old"), tomb, now)
	now = now.Add(reapMemoryWindow + time.Second)
	for i := range reapMemoryMax + 10 {
		m.add(1, []byte(fmt.Sprint("k", i)), tomb, now)
	}
	if got := m.size.Load(); got != reapMemoryMax {
		t.Fatalf("remembers %d reaps, want the bound %d", got, reapMemoryMax)
	}
	for _, k := range []string{"old", "k0", "k9"} {
		if _, ok := m.keys[reapedKey{1, k}]; ok {
			t.Errorf("%s is still remembered", k)
		}
	}
	if _, ok := m.keys[reapedKey{1, fmt.Sprint("k", reapMemoryMax+9)}]; !ok {
		t.Error("the newest reap is forgotten")
	}
}
