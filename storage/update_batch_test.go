package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func counter(tb testing.TB, s *Store, p uint32, key string) uint64 {
	tb.Helper()
	v, err := s.Get(p, []byte(key))
	if errors.Is(err, ErrNotFound) {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	return binary.BigEndian.Uint64(v)
}

// Batches and single-key updates of overlapping keys, running at once,
// never lose an increment, and everything acknowledged survives a reopen.
func TestUpdateBatchSerialisesWithUpdates(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir, "n1")
	s := mustOpen(t, o)
	const keys, rounds = 20, 30
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(2)
		go func() { // batches over every key, each rotated differently
			defer wg.Done()
			for range rounds {
				var batch []BatchUpdate
				for i := range keys {
					j := (i + w*5) % keys
					batch = append(batch, BatchUpdate{Partition: uint32(j % 3), Key: []byte(fmt.Sprintf("k%d", j)), Fn: increment})
				}
				if _, err := s.UpdateBatch(batch); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() { // single updates of the same keys
			defer wg.Done()
			for r := range rounds {
				i := (r + w) % keys
				if _, err := s.Update(uint32(i%3), []byte(fmt.Sprintf("k%d", i)), increment); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var total uint64
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, o)
	for i := range keys {
		total += counter(t, s, uint32(i%3), fmt.Sprintf("k%d", i))
	}
	if want := uint64(4 * rounds * (keys + 1)); total != want {
		t.Fatalf("counters add up to %d, want %d", total, want)
	}
}

// A key twice in one batch sees its own first update; a refusal writes
// nothing of the batch; unchanged keys are not written.
func TestUpdateBatchSemantics(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	values, err := s.UpdateBatch([]BatchUpdate{
		{Partition: 1, Key: []byte("a"), Fn: increment},
		{Partition: 1, Key: []byte("a"), Fn: increment},
		{Partition: 2, Key: []byte("a"), Fn: increment},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(values[1]); got != 2 {
		t.Fatalf("second update of a key saw %d, want 2", got)
	}
	if counter(t, s, 1, "a") != 2 || counter(t, s, 2, "a") != 1 {
		t.Fatalf("stored a=%d in p1, %d in p2; want 2 and 1", counter(t, s, 1, "a"), counter(t, s, 2, "a"))
	}

	before := walBytes(s)
	_, err = s.UpdateBatch([]BatchUpdate{
		{Partition: 1, Key: []byte("b"), Fn: increment},
		{Partition: 1, Key: []byte("a"), Fn: func([]byte, bool) ([]byte, bool, error) { return nil, false, errTest }},
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("err = %v, want the function's refusal", err)
	}
	if _, err := s.UpdateBatch([]BatchUpdate{{Partition: 1, Key: []byte("a"), Fn: func(old []byte, _ bool) ([]byte, bool, error) { return old, false, nil }}}); err != nil {
		t.Fatal(err)
	}
	if walBytes(s) != before {
		t.Fatal("a refused or unchanged batch wrote to the WAL")
	}
	if _, err := s.Get(1, []byte("b")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("b after a refused batch: %v, want ErrNotFound", err)
	}

	// A function returning nil deletes.
	if _, err := s.UpdateBatch([]BatchUpdate{{Partition: 2, Key: []byte("a"), Fn: func([]byte, bool) ([]byte, bool, error) { return nil, true, nil }}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(2, []byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key: %v, want ErrNotFound", err)
	}
}

func BenchmarkUpdateBatch(b *testing.B) {
	for _, size := range []int{1, 64} {
		b.Run(fmt.Sprintf("keys=%d", size), func(b *testing.B) {
			s := mustOpen(b, testOptions(b.TempDir(), "n1"))
			value := make([]byte, 1024)
			set := func([]byte, bool) ([]byte, bool, error) { return value, true, nil }
			batch := make([]BatchUpdate, size)
			b.SetBytes(int64(size * len(value)))
			for i := 0; b.Loop(); i++ {
				for j := range batch {
					batch[j] = BatchUpdate{Partition: uint32(j), Key: binary.BigEndian.AppendUint64(nil, uint64(i*size+j)), Fn: set}
				}
				if _, err := s.UpdateBatch(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestScanPartitionFromAndRecords(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	for _, k := range []string{"a", "b", "c"} {
		put(t, s, 4, k, "v"+k)
	}
	put(t, s, 5, "a", "other partition")
	var seen []string
	if err := s.ScanPartitionFrom(4, []byte("b"), func(k, _ []byte) error { seen = append(seen, string(k)); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[b c]" {
		t.Fatalf("scan from b saw %v, want [b c]", seen)
	}

	if _, err := s.Record("journal"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent record: %v, want ErrNotFound", err)
	}
	if err := s.PutRecord("journal", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Record("journal"); err != nil || string(v) != "x" {
		t.Fatalf("record = %q, %v", v, err)
	}
	if err := s.DeleteRecord("journal"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record("journal"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted record: %v, want ErrNotFound", err)
	}
	if err := s.PutRecord("bad name", nil); err == nil {
		t.Fatal("a record name with a space was accepted")
	}
}
