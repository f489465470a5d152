package storage

import (
	"encoding/binary"
	"io"
	"log/slog"
	"testing"
)

// testOptions returns synced options with a small cache and a silent logger.
func testOptions(dir, nodeID string) Options {
	o := DefaultOptions(dir, nodeID)
	o.CacheBytes = 8 << 20
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return o
}

// mustOpen opens a store and closes it when the test ends.
func mustOpen(tb testing.TB, o Options) *Store {
	tb.Helper()
	s, err := Open(o)
	if err != nil {
		tb.Fatalf("Open(%q, %q): %v", o.Dir, o.NodeID, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// put writes value unconditionally.
func put(tb testing.TB, s *Store, p uint32, key, value string) {
	tb.Helper()
	_, err := s.Update(p, []byte(key), func([]byte, bool) ([]byte, bool, error) {
		return []byte(value), true, nil
	})
	if err != nil {
		tb.Fatalf("put %q in %d: %v", key, p, err)
	}
}

// increment is an UpdateFunc adding one to an 8-byte big-endian counter.
func increment(old []byte, found bool) ([]byte, bool, error) {
	var n uint64
	if found {
		n = binary.BigEndian.Uint64(old)
	}
	return binary.BigEndian.AppendUint64(nil, n+1), true, nil
}

func walBytes(s *Store) uint64 { return s.db.Metrics().WAL.BytesIn }
