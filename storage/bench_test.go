package storage

import (
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// The Raw* benchmarks run pebble with the options Open uses, without the
// gate, striping, key pool or copies, so results read as ratios of
// storage's cost to pebble's in the same run.

const (
	benchValueBytes = 1 << 10
	benchGetKeys    = 10000
	// With GOMAXPROCS=2, 16 goroutines per proc gives 32 concurrent
	// writers, a node's worth of concurrent requests.
	benchParallelism = 16
)

func benchValue() []byte {
	v := make([]byte, benchValueBytes)
	for i := range v {
		v[i] = byte(i * 7)
	}
	return v
}

func benchUserKey(dst []byte, i uint64) []byte {
	dst = append(dst[:0], "key-"...)
	return binary.BigEndian.AppendUint64(dst, i)
}

func openRawPebble(b *testing.B, o Options) *pebble.DB {
	b.Helper()
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	db, err := pebble.Open(o.Dir, pebbleOptions(o, cache, nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func BenchmarkUpdateSyncParallel(b *testing.B) {
	s := mustOpen(b, testOptions(b.TempDir(), "bench"))
	val := benchValue()
	var next atomic.Uint64
	b.SetBytes(benchValueBytes)
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var kb []byte
		fn := func([]byte, bool) ([]byte, bool, error) { return val, true, nil }
		for pb.Next() {
			i := next.Add(1)
			kb = benchUserKey(kb, i)
			if _, err := s.Update(uint32(i%64), kb, fn); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRawPebbleSyncSetParallel(b *testing.B) {
	db := openRawPebble(b, testOptions(b.TempDir(), "bench"))
	val := benchValue()
	var next atomic.Uint64
	b.SetBytes(benchValueBytes)
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var kb, k []byte
		for pb.Next() {
			i := next.Add(1)
			kb = benchUserKey(kb, i)
			k = appendDataKey(k[:0], uint32(i%64), kb)
			if err := db.Set(k, val, pebble.Sync); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGet reads keys that all fit in the row cache, with it (every
// read a hit) and without it (every read a pebble Get).
func BenchmarkGet(b *testing.B) {
	for _, rowCache := range []int64{DefaultRowCacheBytes, 0} {
		name := "row-cache=on"
		if rowCache == 0 {
			name = "row-cache=off"
		}
		b.Run(name, func(b *testing.B) {
			o := testOptions(b.TempDir(), "bench")
			o.Sync = false // loading only
			o.RowCacheBytes = rowCache
			s := mustOpen(b, o)
			val := benchValue()
			benchGets(b, func(p uint32, key []byte) error {
				_, err := s.Update(p, key, func([]byte, bool) ([]byte, bool, error) { return val, true, nil })
				return err
			}, func(p uint32, key []byte) error {
				_, err := s.Get(p, key)
				return err
			})
		})
	}
}

// benchGets loads benchGetKeys keys with set, then times b.N reads with
// get in a scattered order, the same for every store benchmarked.
func benchGets(b *testing.B, set, get func(partition uint32, key []byte) error) {
	var kb []byte
	for i := range uint64(benchGetKeys) {
		kb = benchUserKey(kb, i)
		if err := set(uint32(i%64), kb); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(benchValueBytes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range uint64(b.N) {
		j := i * 7919 % benchGetKeys
		kb = benchUserKey(kb, j)
		if err := get(uint32(j%64), kb); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawPebbleGet(b *testing.B) {
	db := openRawPebble(b, testOptions(b.TempDir(), "bench"))
	val := benchValue()
	var k []byte
	benchGets(b, func(p uint32, key []byte) error {
		k = appendDataKey(k[:0], p, key)
		return db.Set(k, val, pebble.NoSync)
	}, func(p uint32, key []byte) error {
		k = appendDataKey(k[:0], p, key)
		_, closer, err := db.Get(k)
		if err != nil {
			return err
		}
		return closer.Close()
	})
}
