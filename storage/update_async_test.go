package storage

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"
)

var errTest = errors.New("test refusal")

// Writers that overlap their syncs still never lose an update of a shared
// key, and every write they waited for survives a reopen.
func TestUpdateNoSyncWaitSerialisesAndPersists(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir, "n1")
	o.Sync = true
	s := mustOpen(t, o)
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, wait, err := s.UpdateNoSyncWait(3, []byte("counter"), increment)
				if err != nil {
					t.Error(err)
					return
				}
				if err := wait(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, o)
	v, err := s.Get(3, []byte("counter"))
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(v); got != writers*each {
		t.Fatalf("counter = %d after %d increments", got, writers*each)
	}
}

func TestUpdateNoSyncWaitUnchangedAndErrorsWriteNothing(t *testing.T) {
	s := mustOpen(t, testOptions(t.TempDir(), "n1"))
	before := walBytes(s)
	if _, _, err := s.UpdateNoSyncWait(1, []byte("k"), func([]byte, bool) ([]byte, bool, error) { return nil, false, nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpdateNoSyncWait(1, []byte("k"), func([]byte, bool) ([]byte, bool, error) { return []byte("x"), true, errTest }); err != errTest {
		t.Fatalf("err = %v, want the function's error", err)
	}
	if walBytes(s) != before {
		t.Fatal("an unchanged or failed update wrote to the WAL")
	}
	if _, err := s.Get(1, []byte("k")); err != ErrNotFound {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
}
