package replica

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/storage"
	"dynakv/versioning"
)

func openLocal(t testing.TB, id string, maxSiblings int) *Local {
	t.Helper()
	opts := storage.DefaultOptions(t.TempDir(), id)
	opts.Sync = false
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := storage.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewLocal(LocalConfig{Store: st, MaxSiblings: maxSiblings, WarnSiblings: 2, Logger: slog.New(slog.DiscardHandler)})
}

func visible(s *versioning.Set) map[string]bool {
	out := map[string]bool{}
	for _, sib := range s.Visible() {
		out[string(sib.Value)] = true
	}
	return out
}

// Many clients write the same key at once with the same context: every write
// is kept as a sibling, none is lost to a race between read and write.
func TestLocalConcurrentWritesAreAllKept(t *testing.T) {
	l := openLocal(t, "n1", 0)
	key := []byte("hot")
	base, err := l.Coordinate(7, key, Write{Value: []byte("base")})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 32
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Coordinate(7, key, Write{Context: base.Context(), Value: fmt.Appendf(nil, "w%d", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := l.Read(7, key)
	if err != nil {
		t.Fatal(err)
	}
	vals := visible(got)
	if len(vals) != writers || vals["base"] {
		t.Fatalf("want the %d concurrent writes as siblings and base superseded, got %d: %v", writers, len(vals), vals)
	}
}

func TestLocalSiblingLimit(t *testing.T) {
	l := openLocal(t, "n1", 3)
	key := []byte("k")
	for i := range 3 {
		if _, err := l.Coordinate(1, key, Write{Value: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.Coordinate(1, key, Write{Value: []byte("one too many")})
	if !errors.Is(err, ErrTooManySiblings) {
		t.Fatalf("err = %v, want ErrTooManySiblings", err)
	}
	cur, _ := l.Read(1, key)
	if len(cur.Siblings) != 3 {
		t.Fatalf("a refused write changed the key: %d siblings", len(cur.Siblings))
	}
	resolved, err := l.Coordinate(1, key, Write{Context: cur.Context(), Value: []byte("resolved")})
	if err != nil {
		t.Fatalf("a write with the full context was refused: %v", err)
	}
	if v := visible(resolved); len(v) != 1 || !v["resolved"] {
		t.Fatalf("resolved = %v", v)
	}
}

// A key's siblings hold at most MaxObjectBytes of values: a write that would
// grow them past it is refused and changes nothing; a retry of a value
// already there, a write with the key's context, and (once merges carried
// the key past the limit) any write that shrinks it are taken.
func TestLocalObjectSizeLimit(t *testing.T) {
	st := openLocal(t, "n1", 0).store
	l := NewLocal(LocalConfig{Store: st, MaxObjectBytes: 10, WarnObjectBytes: 8, Logger: slog.New(slog.DiscardHandler)})
	key := []byte("big")
	first, err := l.Coordinate(1, key, Write{Value: []byte("aaaaaa")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Coordinate(1, key, Write{Value: []byte("bbbbbb")})
	tooLarge, ok := errors.AsType[*ObjectTooLargeError](err)
	if !ok || tooLarge.Bytes != 12 || tooLarge.Limit != 10 {
		t.Fatalf("a blind write to 12 bytes past a limit of 10: err = %v, want ObjectTooLargeError{12, 10}", err)
	}
	if cur, _ := l.Read(1, key); !cur.Equal(first) {
		t.Fatalf("a refused write changed the key: %v", visible(cur))
	}
	retried, err := l.Coordinate(1, key, Write{Value: []byte("aaaaaa")})
	if err != nil {
		t.Fatalf("a retry of the stored value (no growth) was refused: %v", err)
	}
	if _, err := l.Coordinate(1, key, Write{Context: retried.Context(), Value: []byte("cccccccccc")}); err != nil {
		t.Fatalf("a write with the key's context, at the limit, was refused: %v", err)
	}

	// Merges never refuse: another replica's concurrent write carries the
	// key to 16 bytes. A write that supersedes only that one shrinks it.
	other := openLocal(t, "n2", 0)
	theirs, err := other.Coordinate(1, key, Write{Value: []byte("dddddd")})
	if err != nil {
		t.Fatal(err)
	}
	merged, err := l.Merge(1, key, theirs)
	if err != nil || merged.ValueBytes() != 16 {
		t.Fatalf("merge: %v, %d value bytes, want 16", err, merged.ValueBytes())
	}
	if _, err := l.Coordinate(1, key, Write{Context: theirs.Context(), Value: []byte("e")}); err != nil {
		t.Fatalf("a write that shrinks an oversized key (16 to 11 bytes) was refused: %v", err)
	}
	if _, err := l.Coordinate(1, key, Write{Value: []byte("f")}); err == nil {
		t.Fatal("a blind write growing an oversized key was taken")
	}
}

// Keys past the warning thresholds log a line and count in
// dynakv_sibling_warnings_total and dynakv_object_size_warnings_total.
func TestLocalWarnsOfKeysWithManySiblingsOrBytes(t *testing.T) {
	var log bytes.Buffer
	reg := prometheus.NewRegistry()
	l := NewLocal(LocalConfig{
		Store: openLocal(t, "n1", 0).store, WarnSiblings: 2, WarnObjectBytes: 8,
		Logger: slog.New(slog.NewTextHandler(&log, nil)), Metrics: NewMetrics(reg),
	})
	counts := func() (siblings, size float64) {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			switch f.GetName() {
			case "dynakv_sibling_warnings_total":
				siblings = f.GetMetric()[0].GetCounter().GetValue()
			case "dynakv_object_size_warnings_total":
				size = f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return siblings, size
	}
	key := []byte("k")
	for _, v := range []string{"aaa", "bbb"} {
		if _, err := l.Coordinate(1, key, Write{Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if sib, size := counts(); sib != 0 || size != 0 || log.Len() != 0 {
		t.Fatalf("2 siblings, 6 bytes, at thresholds 2 and 8: warnings %v/%v, log %q", sib, size, log.String())
	}
	if _, err := l.Coordinate(1, key, Write{Value: []byte("ccc")}); err != nil {
		t.Fatal(err)
	}
	if sib, size := counts(); sib != 1 || size != 1 {
		t.Fatalf("3 siblings, 9 bytes: sibling warnings %v, size warnings %v, want 1 and 1", sib, size)
	}
	if !strings.Contains(log.String(), "many siblings") || !strings.Contains(log.String(), "bytes=9") {
		t.Fatalf("log %q does not warn of both", log.String())
	}
}

func TestLocalMergeKeepsBothSidesAndIsIdempotent(t *testing.T) {
	a, b := openLocal(t, "a", 0), openLocal(t, "b", 0)
	key := []byte("k")
	sa, _ := a.Coordinate(3, key, Write{Value: []byte("from-a")})
	sb, _ := b.Coordinate(3, key, Write{Value: []byte("from-b")})
	m1, err := a.Merge(3, key, sb)
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := b.Merge(3, key, sa)
	if !m1.Equal(m2) || len(visible(m1)) != 2 {
		t.Fatalf("replicas did not converge to both siblings: %v vs %v", m1, m2)
	}
	again, _ := a.Merge(3, key, sb)
	if !again.Equal(m1) {
		t.Fatalf("merging the same state twice changed it")
	}
}

// A batch merge stores what one merge per key would, reports each change
// once, and leaves unchanged keys unreported.
func TestLocalMergeBatchEqualsMerges(t *testing.T) {
	src := openLocal(t, "src", 0)
	var entries []KeyState
	for i := range 10 {
		key := []byte(fmt.Sprintf("k%d", i))
		s, err := src.Coordinate(uint32(i%4), key, Write{Value: []byte(fmt.Sprintf("v%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, KeyState{Partition: uint32(i % 4), Key: key, State: s})
	}
	one, batch := openLocal(t, "one", 0), openLocal(t, "batch", 0)
	changes := 0
	batch.onChange = func(uint32, []byte, *versioning.Set, *versioning.Set) { changes++ }
	if _, err := one.Merge(entries[0].Partition, entries[0].Key, entries[0].State); err != nil {
		t.Fatal(err)
	}
	if _, err := batch.Merge(entries[0].Partition, entries[0].Key, entries[0].State); err != nil {
		t.Fatal(err)
	}
	changes = 0
	for _, e := range entries[1:] {
		if _, err := one.Merge(e.Partition, e.Key, e.State); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.MergeBatch(append(entries, KeyState{Partition: 9, Key: []byte("no state")})); err != nil {
		t.Fatal(err)
	}
	if changes != len(entries)-1 {
		t.Errorf("%d changes reported, want %d (the first key was already there)", changes, len(entries)-1)
	}
	for _, e := range entries {
		want, _ := one.Read(e.Partition, e.Key)
		got, err := batch.Read(e.Partition, e.Key)
		if err != nil || !got.Equal(want) {
			t.Fatalf("%s: batch merge stored %v (%v), one merge %v", e.Key, got, err, want)
		}
	}
	if s, _ := batch.Read(9, []byte("no state")); s != nil {
		t.Fatalf("an entry without a state stored %v", s)
	}
}

// A node whose data folder was lost writes as a new incarnation, so its new
// writes are not taken for ones other replicas already saw.
func TestLocalNewIncarnationAfterDataLoss(t *testing.T) {
	peer := openLocal(t, "peer", 0)
	before := openLocal(t, "n1", 0)
	key := []byte("k")
	s, _ := before.Coordinate(1, key, Write{Value: []byte("old")})
	peer.Merge(1, key, s)

	after := openLocal(t, "n1", 0) // same id, fresh folder
	if after.Actor() == before.Actor() {
		t.Fatalf("a fresh data folder reused actor %s", after.Actor())
	}
	fresh, _ := after.Coordinate(1, key, Write{Value: []byte("new")})
	merged, _ := peer.Merge(1, key, fresh)
	if v := visible(merged); !v["new"] || !v["old"] {
		t.Fatalf("the returning node's write was dropped: %v", v)
	}
}
