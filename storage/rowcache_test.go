package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
)

func TestRowCacheGetCopiesAndRecordReplaces(t *testing.T) {
	c := newRowCache(1 << 20)
	k := []byte("k")
	if _, ok, _ := c.get(k); ok {
		t.Fatal("empty cache: hit")
	}
	c.record(k, []byte("v1"))
	v, ok, _ := c.get(k)
	if !ok || string(v) != "v1" {
		t.Fatalf("get = %q, %v; want v1, true", v, ok)
	}
	v[0] = 'X' // a caller may change what it got
	if v, _, _ := c.get(k); string(v) != "v1" {
		t.Fatalf("after the caller changed its copy: get = %q, want v1", v)
	}
	c.record(k, []byte("v2"))
	if v, _, _ := c.get(k); string(v) != "v2" {
		t.Fatalf("after put v2: get = %q", v)
	}
	c.record(k, nil)
	if _, ok, _ := c.get(k); ok {
		t.Fatal("after drop: hit")
	}
	if bytes, entries, _, _ := c.stats(); bytes != 0 || entries != 0 {
		t.Fatalf("after drop: %d bytes in %d entries, want none", bytes, entries)
	}
}

// A reader's fill loses to any write of the shard after its miss: the value
// it read from pebble may predate that write.
func TestRowCacheFillAfterWriteIsDropped(t *testing.T) {
	c := newRowCache(1 << 20)
	k := []byte("k")
	_, _, gen := c.get(k) // a reader misses, then reads "old" from pebble
	c.record(k, []byte("new"))
	c.fill(k, []byte("old"), gen)
	if v, _, _ := c.get(k); string(v) != "new" {
		t.Fatalf("stale fill won: get = %q, want new", v)
	}

	// A delete of another key of the shard counts as well: the cache
	// tracks writes per shard, not per key.
	var j []byte
	for i := 0; j == nil; i++ {
		if cand := fmt.Appendf(nil, "j%d", i); c.shard(cand) == c.shard(k) {
			j = cand
		}
	}
	_, _, gen = c.get(j)
	c.record(k, nil)
	c.fill(j, []byte("old"), gen)
	if _, ok, _ := c.get(j); ok {
		t.Fatal("fill after a drop in its shard was kept")
	}

	_, _, gen = c.get(k)
	c.fill(k, []byte("read"), gen) // nothing happened in between
	if v, ok, _ := c.get(k); !ok || string(v) != "read" {
		t.Fatalf("undisturbed fill: get = %q, %v", v, ok)
	}
}

func TestRowCacheStaysWithinItsBytes(t *testing.T) {
	const capBytes = 64 * 4096 // 64 shards of 4 KiB
	c := newRowCache(capBytes)
	value := make([]byte, 500)
	for i := range 10000 {
		c.record(fmt.Appendf(nil, "key-%05d", i), value)
		if b, _, _, _ := c.stats(); b > capBytes {
			t.Fatalf("after %d puts: %d bytes cached, cap %d", i+1, b, capBytes)
		}
	}
	b, n, _, _ := c.stats()
	if n == 0 || b < capBytes/2 {
		t.Fatalf("cache holds %d entries in %d bytes; want it mostly full (cap %d)", n, b, capBytes)
	}
	// A value larger than a shard is not cached, and takes an older value
	// of its key out.
	k := []byte("key-09999")
	c.record(k, make([]byte, capBytes))
	if _, ok, _ := c.get(k); ok {
		t.Fatal("a value larger than its shard was cached")
	}
}

// CLOCK: a key read since the hand last passed survives, one never read
// goes first.
func TestRowCacheEvictsUnreadFirst(t *testing.T) {
	c := newRowCache(rowCacheShards * 1024)
	// Keys of one shard only, so that the test controls its evictions.
	var keys [][]byte
	for i := 0; len(keys) < 5; i++ {
		k := fmt.Appendf(nil, "k%d", i)
		if c.shard(k) == c.shard([]byte("k0")) {
			keys = append(keys, k)
		}
	}
	value := make([]byte, 1024/3-rowEntryOverhead-8) // three fit in a shard
	for _, k := range keys[:3] {
		c.record(k, value)
	}
	c.get(keys[0])
	c.get(keys[2])
	c.record(keys[3], value) // evicts keys[1], the one not read
	for i, want := range []bool{true, false, true, true} {
		if _, ok, _ := c.get(keys[i]); ok != want {
			t.Fatalf("key %d cached = %v, want %v", i, ok, want)
		}
	}
}

// checkRowCache asserts the row cache's invariant: every cached value is
// what pebble holds.
func checkRowCache(t *testing.T, s *Store) {
	t.Helper()
	for i := range s.rows.shards {
		sh := &s.rows.shards[i]
		sh.mu.Lock()
		for k, slot := range sh.index {
			v, err := s.get([]byte(k))
			if err != nil || !bytes.Equal(v, sh.slots[slot].value) {
				sh.mu.Unlock()
				t.Fatalf("row cache holds %x for key %x; pebble has %x (%v)", sh.slots[slot].value, k, v, err)
			}
		}
		sh.mu.Unlock()
	}
}

// Readers and writers of a few keys race through a row cache small enough
// to evict all the time. No read may go back in time (each key is a
// counter only ever incremented), no increment may be lost, and at the end
// the cache holds exactly what pebble holds.
func TestRowCacheUnderConcurrentReadsAndWrites(t *testing.T) {
	o := testOptions(t.TempDir(), "n1")
	o.Sync = false
	o.RowCacheBytes = rowCacheShards * 150 // one entry per shard: keys evict each other
	s := mustOpen(t, o)
	s.testHookMissed = runtime.Gosched // let writers in between a miss's read and its fill

	const keys, writers, readers, incrementsPerWriter = 200, 6, 6, 400
	key := func(i int) []byte { return fmt.Appendf(nil, "counter-%d", i) }
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range incrementsPerWriter {
				k := key((w + i) % keys)
				var err error
				if i%5 == 0 { // some go through UpdateBatch
					_, err = s.UpdateBatch([]BatchUpdate{{Partition: 1, Key: k, Fn: increment}})
				} else {
					_, err = s.Update(1, k, increment)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var readersWG sync.WaitGroup
	for r := range readers {
		readersWG.Go(func() {
			last := make([]uint64, keys)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := (r + i) % keys
				v, err := s.Get(1, key(k))
				if errors.Is(err, ErrNotFound) {
					if last[k] != 0 {
						errs <- fmt.Errorf("key %d: not found after reading %d", k, last[k])
						return
					}
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				n := binary.BigEndian.Uint64(v)
				if n < last[k] {
					errs <- fmt.Errorf("key %d went back from %d to %d", k, last[k], n)
					return
				}
				last[k] = n
			}
		})
	}
	wg.Wait()
	close(stop)
	readersWG.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var total uint64
	for k := range keys {
		v, err := s.Get(1, key(k))
		if err != nil {
			t.Fatalf("key %d: %v", k, err)
		}
		total += binary.BigEndian.Uint64(v)
	}
	if want := uint64(writers * incrementsPerWriter); total != want {
		t.Fatalf("counters sum to %d, want %d: increments were lost", total, want)
	}
	checkRowCache(t, s)
	if _, _, hits, misses := s.rows.stats(); hits == 0 || misses == 0 {
		t.Fatalf("row cache hits %d, misses %d: the test did not exercise both", hits, misses)
	}
}

// Failed and unchanged updates leave the cache as pebble is; deletes take
// the key out of it.
func TestRowCacheFollowsEveryKindOfWrite(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	k := []byte("k")
	put(t, s, 1, "k", "v1")
	boom := errors.New("boom")
	if _, err := s.Update(1, k, func([]byte, bool) ([]byte, bool, error) { return []byte("no"), true, boom }); !errors.Is(err, boom) {
		t.Fatalf("failing update: %v", err)
	}
	if _, err := s.Update(1, k, func(old []byte, _ bool) ([]byte, bool, error) { return old, false, nil }); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(1, k); err != nil || string(v) != "v1" {
		t.Fatalf("after a failed and an unchanged update: %q, %v; want v1", v, err)
	}
	if _, err := s.UpdateBatch([]BatchUpdate{
		{Partition: 1, Key: k, Fn: func([]byte, bool) ([]byte, bool, error) { return []byte("v2"), true, nil }},
		{Partition: 1, Key: []byte("j"), Fn: func([]byte, bool) ([]byte, bool, error) { return []byte("j1"), true, nil }},
	}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(1, k); err != nil || string(v) != "v2" {
		t.Fatalf("after a batch: %q, %v; want v2", v, err)
	}
	if _, err := s.Update(1, k, func([]byte, bool) ([]byte, bool, error) { return nil, true, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(1, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a delete: %v, want ErrNotFound", err)
	}
	checkRowCache(t, s)
	if st := s.Stats(); st.RowCacheEntries != 1 || st.RowCacheHits == 0 {
		t.Fatalf("stats: %d entries, %d hits; want 1 entry (j) and some hits", st.RowCacheEntries, st.RowCacheHits)
	}
}
