package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestUpdateCounterSameKey(t *testing.T) {
	for _, tc := range []struct {
		sync             bool
		workers, perWork int
	}{
		// Unsynced: many rounds to stress the lock, not the disk.
		{sync: false, workers: 32, perWork: 200},
		// Synced: every update fsyncs under the key's stripe.
		{sync: true, workers: 32, perWork: 10},
	} {
		t.Run(fmt.Sprintf("sync=%v", tc.sync), func(t *testing.T) {
			o := testOptions(t.TempDir(), "n1")
			o.Sync = tc.sync
			s := mustOpen(t, o)
			key := []byte("counter")
			var wg sync.WaitGroup
			errs := make(chan error, tc.workers)
			for range tc.workers {
				wg.Go(func() {
					for range tc.perWork {
						if _, err := s.Update(3, key, increment); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			v, err := s.Get(3, key)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := binary.BigEndian.Uint64(v), uint64(tc.workers*tc.perWork); got != want {
				t.Fatalf("counter = %d, want %d (lost updates)", got, want)
			}
		})
	}
}

func TestUpdateCounterMixedKeys(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	const workers, perWork, keys = 32, 40, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWork {
				k := (w + i) % keys
				// Same user key in two partitions: they are distinct keys.
				if _, err := s.Update(uint32(k%2), fmt.Appendf(nil, "c%d", k), increment); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k := range keys {
		v, err := s.Get(uint32(k%2), fmt.Appendf(nil, "c%d", k))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := binary.BigEndian.Uint64(v), uint64(workers*perWork/keys); got != want {
			t.Errorf("key c%d = %d, want %d", k, got, want)
		}
	}
}

func TestUpdateUnchangedWritesNothing(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	put(t, s, 1, "k", "v1")

	before := walBytes(s)
	got, err := s.Update(1, []byte("k"), func(old []byte, found bool) ([]byte, bool, error) {
		if !found || string(old) != "v1" {
			t.Errorf("fn saw (%q, %v), want (v1, true)", old, found)
		}
		return []byte("ignored"), false, nil
	})
	if err != nil || string(got) != "v1" {
		t.Fatalf("Update = (%q, %v), want (v1, nil)", got, err)
	}
	got, err = s.Update(1, []byte("absent"), func(old []byte, found bool) ([]byte, bool, error) {
		if found || old != nil {
			t.Errorf("fn saw (%q, %v) for an absent key", old, found)
		}
		return []byte("ignored"), false, nil
	})
	if err != nil || got != nil {
		t.Fatalf("Update(absent) = (%q, %v), want (nil, nil)", got, err)
	}
	if after := walBytes(s); after != before {
		t.Fatalf("WAL grew from %d to %d bytes on unchanged updates", before, after)
	}
	if v, err := s.Get(1, []byte("k")); err != nil || string(v) != "v1" {
		t.Fatalf("Get = (%q, %v), want (v1, nil)", v, err)
	}
	if _, err := s.Get(1, []byte("absent")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(absent) err = %v, want ErrNotFound", err)
	}
}

func TestUpdateNilDeletes(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	put(t, s, 1, "k", "v1")
	got, err := s.Update(1, []byte("k"), func([]byte, bool) ([]byte, bool, error) { return nil, true, nil })
	if err != nil || got != nil {
		t.Fatalf("delete Update = (%q, %v), want (nil, nil)", got, err)
	}
	if _, err := s.Get(1, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after delete: err = %v, want ErrNotFound", err)
	}
	// An empty non-nil value is a value, not a delete.
	if _, err := s.Update(1, []byte("e"), func([]byte, bool) ([]byte, bool, error) { return []byte{}, true, nil }); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get(1, []byte("e"))
	if err != nil || len(v) != 0 {
		t.Fatalf("Get(empty) = (%q, %v), want (\"\", nil)", v, err)
	}
	_, _ = s.Update(1, []byte("e"), func(old []byte, found bool) ([]byte, bool, error) {
		if !found || old == nil {
			t.Errorf("empty value seen as (%v, found=%v), want non-nil and found", old, found)
		}
		return nil, false, nil
	})
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	put(t, s, 1, "k", "v1")
	errBoom := errors.New("boom")
	before := walBytes(s)
	got, err := s.Update(1, []byte("k"), func([]byte, bool) ([]byte, bool, error) {
		return []byte("v2"), true, fmt.Errorf("deciding: %w", errBoom)
	})
	if !errors.Is(err, errBoom) || got != nil {
		t.Fatalf("Update = (%q, %v), want (nil, boom)", got, err)
	}
	if after := walBytes(s); after != before {
		t.Fatalf("WAL grew from %d to %d bytes on a failed update", before, after)
	}
	if v, _ := s.Get(1, []byte("k")); string(v) != "v1" {
		t.Fatalf("value = %q after failed update, want v1", v)
	}
}

func TestValuesAreCopies(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	put(t, s, 1, "k", "value")
	v, err := s.Get(1, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXXX")
	var kept []byte
	if _, err := s.Update(1, []byte("k"), func(old []byte, _ bool) ([]byte, bool, error) {
		kept = old
		return []byte("other"), true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kept, []byte("value")) {
		t.Fatalf("old seen by fn = %q, want value (Get's slice must not alias the store)", kept)
	}
	put(t, s, 1, "k", "third")
	if string(kept) != "value" {
		t.Fatalf("old kept by fn changed to %q after a later write", kept)
	}
}

// An UpdateFunc that panics leaves the store usable and closable: the
// panic reaches the caller, the key's lock and the store's count of
// operations in flight are given back, so a caller that recovers (net/http
// does, per request) does not leave Close waiting forever.
func TestAPanickingUpdateFuncLeavesTheStoreClosable(t *testing.T) {
	s, err := Open(testOptions(t.TempDir(), "n1"))
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the UpdateFunc's panic did not reach the caller")
			}
		}()
		s.Update(1, []byte("k"), func([]byte, bool) ([]byte, bool, error) { panic("bug") })
	}()
	if _, err := s.Update(1, []byte("k"), func([]byte, bool) ([]byte, bool, error) { return []byte("v"), true, nil }); err != nil {
		t.Fatalf("an update of the same key after the panic: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits for the update that panicked")
	}
}
