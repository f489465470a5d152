package storage

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
)

// fakeCeiling is an injected persist function that records what was
// persisted and can be made to fail, standing in for a crash.
type fakeCeiling struct {
	mu      sync.Mutex
	ceiling uint64
	calls   int
	fail    error
}

func (f *fakeCeiling) persist(c uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if c <= f.ceiling {
		panic("ceiling persisted out of order")
	}
	f.ceiling = c
	f.calls++
	return nil
}

func (f *fakeCeiling) get() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ceiling
}

func TestSeqLeaseNeverReturnsAbovePersisted(t *testing.T) {
	f := &fakeCeiling{}
	l := newSeqLease(0, 4, f.persist)
	var returned []uint64
	for i := range 50 {
		atLeast := uint64(0)
		if i == 20 {
			atLeast = 1000 // jump over several blocks at once
		}
		n, err := l.next(atLeast)
		if err != nil {
			t.Fatal(err)
		}
		if n >= f.get() {
			t.Fatalf("returned %d, not below persisted ceiling %d", n, f.get())
		}
		if n < atLeast || (len(returned) > 0 && n <= returned[len(returned)-1]) {
			t.Fatalf("returned %d after %v (atLeast %d)", n, returned, atLeast)
		}
		returned = append(returned, n)
	}
	if returned[0] != 1 {
		t.Errorf("first number = %d, want 1 (0 is never returned)", returned[0])
	}

	// Persisting now fails, as if the disk went away: no number at or
	// above the ceiling may be returned.
	f.fail = errors.New("disk gone")
	crashCeiling := f.get()
	for {
		n, err := l.next(0)
		if err != nil {
			break
		}
		if n >= crashCeiling {
			t.Fatalf("returned %d with persisted ceiling %d", n, crashCeiling)
		}
		returned = append(returned, n)
	}

	// "Restart" from what was persisted: every new number is above every
	// number returned in the previous life.
	restarted := newSeqLease(crashCeiling, 4, (&fakeCeiling{ceiling: crashCeiling}).persist)
	n, err := restarted.next(0)
	if err != nil {
		t.Fatal(err)
	}
	if maxOld := slices.Max(returned); n <= maxOld {
		t.Fatalf("after restart returned %d, not above previous maximum %d", n, maxOld)
	}
}

func TestSeqLeaseConcurrentUnique(t *testing.T) {
	f := &fakeCeiling{}
	l := newSeqLease(0, 64, f.persist)
	const workers, perWork = 16, 2000
	results := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWork {
				atLeast := uint64(0)
				if i%500 == 499 {
					atLeast = uint64(w*perWork*4 + i) // some callers jump ahead
				}
				n, err := l.next(atLeast)
				if err != nil {
					t.Error(err)
					return
				}
				if n < atLeast {
					t.Errorf("next(%d) = %d", atLeast, n)
				}
				results[w] = append(results[w], n)
			}
		})
	}
	wg.Wait()
	var all []uint64
	for w, r := range results {
		if !slices.IsSorted(r) || len(slices.Compact(slices.Clone(r))) != len(r) {
			t.Fatalf("worker %d saw a non-increasing sequence", w)
		}
		all = append(all, r...)
	}
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Fatal("duplicate numbers across workers")
	}
	if maxN := all[len(all)-1]; maxN >= f.get() {
		t.Fatalf("returned %d, not below persisted ceiling %d", maxN, f.get())
	}
	if f.calls > len(all)/64+workers+8 {
		t.Errorf("persisted %d times for %d numbers with block 64", f.calls, len(all))
	}
}

func TestSeqLeaseExhausted(t *testing.T) {
	f := &fakeCeiling{}
	l := newSeqLease(0, 4, f.persist)
	if _, err := l.next(math.MaxUint64); !errors.Is(err, ErrSequenceExhausted) {
		t.Fatalf("next(MaxUint64): err = %v, want ErrSequenceExhausted", err)
	}
	if _, err := l.next(0); !errors.Is(err, ErrSequenceExhausted) {
		t.Fatalf("next after exhaustion: err = %v, want ErrSequenceExhausted", err)
	}
}

func TestNextSequenceStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(testOptions(dir, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWork = 32, 500
	results := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range perWork {
				n, err := s.NextSequence(0)
				if err != nil {
					t.Error(err)
					return
				}
				results[w] = append(results[w], n)
			}
		})
	}
	wg.Wait()
	var all []uint64
	for _, r := range results {
		if !slices.IsSorted(r) {
			t.Fatal("a goroutine saw a decreasing sequence")
		}
		all = append(all, r...)
	}
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != workers*perWork {
		t.Fatal("duplicate sequence numbers")
	}
	n, err := s.NextSequence(1 << 40)
	if err != nil || n < 1<<40 {
		t.Fatalf("NextSequence(1<<40) = (%d, %v)", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, testOptions(dir, "n1"))
	after, err := s.NextSequence(0)
	if err != nil || after <= n {
		t.Fatalf("after reopen NextSequence = (%d, %v), want > %d", after, err, n)
	}
	if small, err := s.NextSequence(5); err != nil || small <= after {
		t.Fatalf("NextSequence(5) = (%d, %v), want > %d", small, err, after)
	}
}
