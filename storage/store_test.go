package storage

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

func TestPersistenceAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(testOptions(dir, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		put(t, s, uint32(i%4), fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i))
	}
	if _, err := s.Update(0, []byte("k000"), func([]byte, bool) ([]byte, bool, error) { return nil, true, nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, testOptions(dir, "n1"))
	for i := 1; i < 100; i++ {
		v, err := s.Get(uint32(i%4), fmt.Appendf(nil, "k%03d", i))
		if err != nil || string(v) != fmt.Sprintf("v%d", i) {
			t.Fatalf("after reopen Get(k%03d) = (%q, %v), want v%d", i, v, err, i)
		}
	}
	if _, err := s.Get(0, []byte("k000")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key after reopen: err = %v, want ErrNotFound", err)
	}
}

func TestPartitionIsolation(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	put(t, s, 7, "k", "seven")
	put(t, s, 8, "k", "eight")
	for p, want := range map[uint32]string{7: "seven", 8: "eight"} {
		if v, err := s.Get(p, []byte("k")); err != nil || string(v) != want {
			t.Errorf("Get(%d, k) = (%q, %v), want %s", p, v, err, want)
		}
	}
	if _, err := s.Get(9, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(9, k): err = %v, want ErrNotFound", err)
	}
}

type kv struct{ k, v string }

func scanAll(t *testing.T, s *Store, p uint32) []kv {
	t.Helper()
	var out []kv
	if err := s.ScanPartition(p, func(k, v []byte) error {
		out = append(out, kv{string(k), string(v)})
		return nil
	}); err != nil {
		t.Fatalf("ScanPartition(%d): %v", p, err)
	}
	return out
}

func TestScanPartitionOrderAndBounds(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	const last = math.MaxUint32
	// Neighbours of partition 7 with keys that sit right at its edges: the
	// empty key of 8 and a 0xff key of 6.
	put(t, s, 6, "\xff\xff\xff\xff\xff", "six")
	put(t, s, 8, "", "eight-empty")
	put(t, s, 8, "a", "eight")
	want := []kv{{"", "empty"}, {"\x00", "zero"}, {"a", "1"}, {"b", "2"}, {"b\x00", "3"}, {"\xff\xff", "ff"}}
	for _, i := range []int{3, 0, 5, 1, 4, 2} { // inserted out of order
		put(t, s, 7, want[i].k, want[i].v)
	}
	put(t, s, last, "z", "last")
	put(t, s, 0, "a", "zero-partition")
	// Keys of other namespaces, written directly: a hint and a meta key
	// (meta keys for identity and the sequence also exist already).
	if err := s.db.Set([]byte{nsHint, 0, 0, 0, 7, 'x'}, []byte("hint"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextSequence(0); err != nil {
		t.Fatal(err)
	}

	if got := scanAll(t, s, 7); !slices.Equal(got, want) {
		t.Errorf("scan 7 = %q\nwant     %q", got, want)
	}
	if got, want := scanAll(t, s, last), []kv{{"z", "last"}}; !slices.Equal(got, want) {
		t.Errorf("scan last partition = %q, want %q (meta or hints leaked?)", got, want)
	}
	if got, want := scanAll(t, s, 0), []kv{{"a", "zero-partition"}}; !slices.Equal(got, want) {
		t.Errorf("scan 0 = %q, want %q", got, want)
	}
	if got := scanAll(t, s, 1234); len(got) != 0 {
		t.Errorf("scan of empty partition = %q", got)
	}
}

func TestScanPartitionStopsAtError(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	for i := range 10 {
		put(t, s, 2, fmt.Sprintf("k%d", i), "v")
	}
	errStop := errors.New("stop")
	var seen int
	err := s.ScanPartition(2, func(k, v []byte) error {
		seen++
		if seen == 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || seen != 3 {
		t.Fatalf("scan returned %v after %d keys, want stop after 3", err, seen)
	}
}

func TestScanPartitionIsSnapshot(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	put(t, s, 2, "a", "1")
	put(t, s, 2, "c", "3")
	var got []kv
	err := s.ScanPartition(2, func(k, v []byte) error {
		if string(k) == "a" {
			// Writes during the scan: a key ahead of the cursor and a new
			// value for a key not yet visited. Neither may be seen.
			put(t, s, 2, "b", "2")
			put(t, s, 2, "c", "new")
		}
		got = append(got, kv{string(k), string(v)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []kv{{"a", "1"}, {"c", "3"}}; !slices.Equal(got, want) {
		t.Fatalf("scan = %q, want snapshot %q", got, want)
	}
}

func TestCloseWaitsForInFlight(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(testOptions(dir, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	updateDone := make(chan error, 1)
	go func() {
		_, err := s.Update(1, []byte("k"), func([]byte, bool) ([]byte, bool, error) {
			close(entered)
			<-release
			return []byte("written during close"), true, nil
		})
		updateDone <- err
	}()
	<-entered

	closeDone := make(chan error, 1)
	go func() { closeDone <- s.Close() }()
	// Wait until Close has shut the gate (it then blocks on the update).
	for s.gate.state.Load()&gateClosed == 0 {
		runtime.Gosched()
	}
	select {
	case err := <-closeDone:
		t.Fatalf("Close returned (%v) while an Update was in flight", err)
	default:
	}
	// New operations are refused while Close waits.
	if _, err := s.Get(1, []byte("k")); !errors.Is(err, ErrClosed) {
		t.Errorf("Get during Close: err = %v, want ErrClosed", err)
	}
	if _, err := s.Update(1, []byte("x"), increment); !errors.Is(err, ErrClosed) {
		t.Errorf("Update during Close: err = %v, want ErrClosed", err)
	}

	close(release)
	if err := <-updateDone; err != nil {
		t.Fatalf("in-flight Update: %v", err)
	}
	if err := <-closeDone; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Get(1, []byte("k")); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: err = %v, want ErrClosed", err)
	}
	if _, err := s.NextSequence(0); !errors.Is(err, ErrClosed) {
		t.Errorf("NextSequence after Close: err = %v, want ErrClosed", err)
	}
	if err := s.ScanPartition(1, func(k, v []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("ScanPartition after Close: err = %v, want ErrClosed", err)
	}

	// The in-flight write completed before pebble closed.
	s = mustOpen(t, testOptions(dir, "n1"))
	if v, err := s.Get(1, []byte("k")); err != nil || string(v) != "written during close" {
		t.Fatalf("after reopen Get = (%q, %v)", v, err)
	}
}

func TestGateCloseWithNothingInFlight(t *testing.T) {
	g := newGate()
	if !g.enter() {
		t.Fatal("enter on open gate failed")
	}
	g.exit()
	g.closeAndWait()
	if g.enter() {
		t.Fatal("enter on closed gate succeeded")
	}
	g.closeAndWait() // must not block or panic
}
