package storage

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"dynakv/internal/testutil"
)

// A write whose WAL write fails is not acknowledged, and from then on the
// store refuses reads as well as writes (it holds the failed write in its
// memtable, which a restart loses). Reopened on a working disk, it holds
// every write acknowledged before the failure.
func TestAFailedDiskWriteStopsTheStoreAndKeepsAcknowledgedWrites(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			dir := t.TempDir()
			fail := testutil.FailingWAL()
			o := testOptions(dir, "n1")
			o.FS = errorfs.Wrap(vfs.Default, fail)
			s, err := Open(o)
			if err != nil {
				t.Fatal(err)
			}
			write := func(key string) error {
				set := func([]byte, bool) ([]byte, bool, error) { return []byte("v-" + key), true, nil }
				if batched {
					_, err := s.UpdateBatch([]BatchUpdate{{Partition: 1, Key: []byte(key), Fn: set}})
					return err
				}
				_, err := s.Update(1, []byte(key), set)
				return err
			}
			for i := range 20 {
				if err := write(fmt.Sprint("acked-", i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Err(); err != nil {
				t.Fatalf("Err before any failure: %v", err)
			}

			fail.On()
			if err := write("failed"); err == nil {
				t.Fatal("a write whose WAL write failed was acknowledged")
			}
			if err := s.Err(); !errors.Is(err, ErrFailed) {
				t.Fatalf("Err after the failure = %v, want ErrFailed", err)
			}
			fail.Off() // the store stays stopped even once the disk works again
			if err := write("after"); !errors.Is(err, ErrFailed) {
				t.Errorf("a write after the failure: %v, want ErrFailed", err)
			}
			for _, key := range []string{"failed", "acked-3"} {
				if _, err := s.Get(1, []byte(key)); !errors.Is(err, ErrFailed) {
					t.Errorf("read of %s after the failure: %v, want ErrFailed", key, err)
				}
			}
			if _, err := s.PutHint("n2", []byte("hint")); !errors.Is(err, ErrFailed) {
				t.Errorf("a hint after the failure: %v, want ErrFailed", err)
			}
			s.Close() // reports the WAL's error; the data folder is what counts

			s = mustOpen(t, testOptions(dir, "n1"))
			for i := range 20 {
				key := fmt.Sprint("acked-", i)
				if v, err := s.Get(1, []byte(key)); err != nil || string(v) != "v-"+key {
					t.Errorf("acknowledged %s after the restart: %q, %v", key, v, err)
				}
			}
			if err := s.Err(); err != nil {
				t.Errorf("Err after a restart on a working disk: %v", err)
			}
			if err := write("after-restart"); err != nil {
				t.Errorf("a write after the restart: %v", err)
			}
		})
	}
}

// Every synced write of the store, not only Update and UpdateBatch, turns a
// failed disk into the store's failure and an error: pebble makes a failed
// sync that DB.Apply (or Set, Delete, LogData) waits for itself a fatal
// error, which reached whichever goroutine wrote as a panic (a gRPC
// handler's took the node's process down; an HTTP handler's was recovered
// by net/http, leaving the store's locks held and the node wedged).
func TestEverySyncedWriteReportsAFailedDiskAsAnError(t *testing.T) {
	for name, write := range map[string]func(s *Store) error{
		"sequence lease":  func(s *Store) error { _, err := s.NextSequence(1); return err },
		"actor epoch":     func(s *Store) error { _, err := s.NewActorEpoch(); return err },
		"record":          func(s *Store) error { return s.PutRecord("r", []byte("v")) },
		"record deletion": func(s *Store) error { return s.DeleteRecord("r") },
		"hint":            func(s *Store) error { _, err := s.PutHint("n2", []byte("hint")); return err },
		"sync of applied writes": func(s *Store) error {
			if err := s.enter(); err != nil {
				return err
			}
			defer s.gate.exit()
			return s.syncApplied()
		},
	} {
		t.Run(name, func(t *testing.T) {
			fail := testutil.FailingWAL()
			o := testOptions(t.TempDir(), "n1")
			o.FS = errorfs.Wrap(vfs.Default, fail)
			s, err := Open(o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			fail.On()
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("the write panicked: %v", p)
					}
				}()
				if err := write(s); err == nil {
					t.Fatal("a write whose WAL write failed returned no error")
				}
			}()
			if err := s.Err(); !errors.Is(err, ErrFailed) {
				t.Fatalf("Err after the failed write = %v, want ErrFailed", err)
			}
		})
	}
}
