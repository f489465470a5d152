package storage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

type hintEntry struct {
	seq uint64
	rec string
}

func scanHints(tb testing.TB, s *Store, target string, after uint64) []hintEntry {
	tb.Helper()
	var got []hintEntry
	err := s.ScanHints(target, after, func(seq uint64, rec []byte) error {
		got = append(got, hintEntry{seq, string(rec)})
		return nil
	})
	if err != nil {
		tb.Fatalf("ScanHints(%q, %d): %v", target, after, err)
	}
	return got
}

func putHint(tb testing.TB, s *Store, target, rec string) uint64 {
	tb.Helper()
	seq, err := s.PutHint(target, []byte(rec))
	if err != nil {
		tb.Fatalf("PutHint(%q): %v", target, err)
	}
	return seq
}

func recs(es []hintEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.rec
	}
	return out
}

func TestHintsQueuePerTargetInSequenceOrder(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n0"))
	// "n1" and "n10" share leading bytes, and a target of 0xff bytes
	// exercises the range end's carry: no queue may leak into another.
	targets := []string{"n1", "n10", "n", "\xff\xff", "n1\x00"}
	var last uint64
	for i := range 5 {
		for _, tg := range targets {
			seq := putHint(t, s, tg, fmt.Sprintf("%s#%d", tg, i))
			if seq <= last {
				t.Fatalf("PutHint returned %d after %d: not increasing", seq, last)
			}
			last = seq
		}
	}
	for _, tg := range targets {
		got := scanHints(t, s, tg, 0)
		want := []string{tg + "#0", tg + "#1", tg + "#2", tg + "#3", tg + "#4"}
		if !slices.Equal(recs(got), want) {
			t.Errorf("ScanHints(%q) = %q, want %q", tg, recs(got), want)
		}
		// Resume after the second hint.
		if rest := scanHints(t, s, tg, got[1].seq); !slices.Equal(recs(rest), want[2:]) {
			t.Errorf("ScanHints(%q, after %d) = %q, want %q", tg, got[1].seq, recs(rest), want[2:])
		}
		if rest := scanHints(t, s, tg, ^uint64(0)); len(rest) != 0 {
			t.Errorf("ScanHints(%q, max) = %q, want none", tg, recs(rest))
		}
	}
	if got := scanHints(t, s, "absent", 0); len(got) != 0 {
		t.Errorf("ScanHints(absent) = %q, want none", recs(got))
	}

	gotTargets, err := s.HintTargets()
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(targets)
	slices.SortFunc(want, func(a, b string) int {
		// Key order: length prefix first, then bytes.
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	if !slices.Equal(gotTargets, want) {
		t.Errorf("HintTargets = %q, want %q", gotTargets, want)
	}
}

func TestHintsDeleteAndTargetsDisappear(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n0"))
	a1 := putHint(t, s, "a", "a1")
	a2 := putHint(t, s, "a", "a2")
	b1 := putHint(t, s, "b", "b1")

	if err := s.DeleteHint("a", a1); err != nil {
		t.Fatal(err)
	}
	if got := recs(scanHints(t, s, "a", 0)); !slices.Equal(got, []string{"a2"}) {
		t.Errorf("after deleting a1: %q", got)
	}
	// Deleting an absent hint, or another target's sequence, changes nothing.
	if err := s.DeleteHints("a", []uint64{a1, b1}); err != nil {
		t.Fatal(err)
	}
	if got := recs(scanHints(t, s, "b", 0)); !slices.Equal(got, []string{"b1"}) {
		t.Errorf("b after deleting a's sequences: %q", got)
	}
	if err := s.DeleteHints("a", []uint64{a2}); err != nil {
		t.Fatal(err)
	}
	targets, err := s.HintTargets()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(targets, []string{"b"}) {
		t.Errorf("HintTargets = %q, want [b]", targets)
	}
}

func TestHintsSurviveReopenAndKeepOrder(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(testOptions(dir, "n0"))
	if err != nil {
		t.Fatal(err)
	}
	first := putHint(t, s, "n2", "before")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, testOptions(dir, "n0"))
	second := putHint(t, s, "n2", "after")
	if second <= first {
		t.Fatalf("sequence after reopen %d <= %d", second, first)
	}
	if got := recs(scanHints(t, s, "n2", 0)); !slices.Equal(got, []string{"before", "after"}) {
		t.Errorf("after reopen: %q", got)
	}
}

func TestHintsAndDataDoNotLeak(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n0"))
	put(t, s, ^uint32(0), "k", "data")
	putHint(t, s, "n2", "hint")
	var data []string
	if err := s.ScanPartition(^uint32(0), func(k, v []byte) error {
		data = append(data, string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(data, []string{"data"}) {
		t.Errorf("ScanPartition(last) = %q, want [data]", data)
	}
	if got := recs(scanHints(t, s, "n2", 0)); !slices.Equal(got, []string{"hint"}) {
		t.Errorf("ScanHints = %q", got)
	}
	if _, err := s.Get(0, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of the empty key in partition 0 = %v, want ErrNotFound", err)
	}
}

func TestHintsScanStopsAtCallbackError(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n0"))
	for i := range 5 {
		putHint(t, s, "t", fmt.Sprint(i))
	}
	stop := errors.New("batch full")
	n := 0
	err := s.ScanHints("t", 0, func(uint64, []byte) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("ScanHints = %v after %d calls, want the callback's error after 2", err, n)
	}
}

func TestHintsRejectBadTargetsAndClosedStore(t *testing.T) {
	s, err := Open(testOptions(t.TempDir(), "n0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHint("", []byte("x")); err == nil {
		t.Error("PutHint with an empty target succeeded")
	}
	if _, err := s.PutHint(strings.Repeat("x", MaxHintTarget+1), []byte("x")); err == nil {
		t.Error("PutHint with an oversized target succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHint("t", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("PutHint after Close = %v, want ErrClosed", err)
	}
	if err := s.ScanHints("t", 0, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("ScanHints after Close = %v, want ErrClosed", err)
	}
	if err := s.DeleteHint("t", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("DeleteHint after Close = %v, want ErrClosed", err)
	}
	if _, err := s.HintTargets(); !errors.Is(err, ErrClosed) {
		t.Errorf("HintTargets after Close = %v, want ErrClosed", err)
	}
}

func TestHintsConcurrentPutsAllLand(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n0"))
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.PutHint("t", fmt.Appendf(nil, "%d-%d", w, i)); err != nil {
					t.Errorf("PutHint: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := scanHints(t, s, "t", 0)
	if len(got) != writers*each {
		t.Fatalf("got %d hints, want %d", len(got), writers*each)
	}
	for i := 1; i < len(got); i++ {
		if got[i].seq <= got[i-1].seq {
			t.Fatalf("scan out of sequence order at %d: %d after %d", i, got[i].seq, got[i-1].seq)
		}
	}
}

func TestParseHintKeyRejectsMalformed(t *testing.T) {
	good := hintKey("node", 42)
	target, seq, err := parseHintKey(good)
	if err != nil || string(target) != "node" || seq != 42 {
		t.Fatalf("parseHintKey(good) = %q, %d, %v", target, seq, err)
	}
	for _, k := range [][]byte{nil, {nsData}, good[:len(good)-1], append(slices.Clone(good), 0), {nsHint, 0x80}} {
		if _, _, err := parseHintKey(k); !errors.Is(err, ErrCorruptHint) {
			t.Errorf("parseHintKey(%x) = %v, want ErrCorruptHint", k, err)
		}
	}
}

// A corrupt hint key (here a target length padded to two uvarint bytes, so
// it reads as the empty target) is reported, and listing the targets ends:
// read as a target, it made the listing seek back to the same key forever.
func TestHintTargetsReportsACorruptKey(t *testing.T) {
	// Not mustOpen: if the listing never returns, Close would wait for it
	// forever, and the test must fail rather than hang.
	s, err := Open(testOptions(t.TempDir(), "n1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHint("n2", []byte("rec")); err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte{nsHint, 0x80, 0x00}, "\x00\x00\x00\x00\x00\x00\x00\x07"...)
	if err := s.db.Set(corrupt, []byte("rec"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	type result struct {
		targets []string
		err     error
	}
	done := make(chan result, 1)
	go func() {
		targets, err := s.HintTargets()
		done <- result{targets, err}
	}()
	select {
	case r := <-done:
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if !errors.Is(r.err, ErrCorruptHint) {
			t.Fatalf("HintTargets = %q, %v; want ErrCorruptHint", r.targets, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HintTargets did not return within 10 s with a corrupt key in the hint namespace (the store is left open)")
	}
}
