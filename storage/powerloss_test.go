package storage

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"dynakv/internal/testutil"
)

// A power cut keeps only what reached the disk with a sync. Writers update
// keys (singly and in batches) while the test takes a crash clone of the
// file system, pebble's model of the disk at a power cut: every update
// that returned before the clone must be in it, when a store is opened on
// it. Without Sync (or if an acknowledgement ever preceded its sync) the
// clone would lack some of them.
func TestEveryAcknowledgedWriteSurvivesAPowerCut(t *testing.T) {
	for _, window := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync group window %v", window), func(t *testing.T) {
			dir := t.TempDir()
			fs := vfs.NewCrashableMem()
			o := testOptions(dir, "n1")
			o.FS = fs
			if !window {
				o.SyncGroupWindow = 0
			}
			s, err := Open(o)
			if err != nil {
				t.Fatal(err)
			}
			var (
				acked testutil.Acks
				stop  atomic.Bool
				wg    sync.WaitGroup
			)
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for i := 0; !stop.Load(); i++ {
						key, value := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("v%d-%d", w, i)
						set := func([]byte, bool) ([]byte, bool, error) { return []byte(value), true, nil }
						var err error
						if rng.IntN(4) == 0 {
							_, err = s.UpdateBatch([]BatchUpdate{{Partition: 1, Key: []byte(key), Fn: set}})
						} else {
							_, err = s.Update(1, []byte(key), set)
						}
						if err != nil {
							return // the store is closing
						}
						acked.Add(key, value)
					}
				}()
			}
			// The clone is taken with the writers running.
			testutil.Eventually(t, 30*time.Second, "2000 acknowledged writes", func() bool { return acked.Len() >= 2000 })
			before := acked.Snapshot()
			crashed := fs.CrashClone(vfs.CrashCloneCfg{})
			stop.Store(true)
			wg.Wait()
			s.Close()

			o.FS = crashed
			s = mustOpen(t, o)
			for k, want := range before {
				if got, err := s.Get(1, []byte(k)); err != nil || string(got) != want {
					t.Fatalf("acknowledged %s = %q after the power cut: %q, %v", k, want, got, err)
				}
			}
			t.Logf("%d acknowledged writes survived the power cut", len(before))
		})
	}
}

// An update that changes nothing may have read a value whose own write is
// applied but not yet synced (a replica receiving, through a second path,
// a state it is still syncing). Its caller acknowledges what it read, so
// it must return only once that value is durable. A long sync group
// window holds the first write's sync back while the second update runs.
func TestAnUnchangedUpdateReturnsOnlyOnceWhatItReadIsDurable(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			o := testOptions(t.TempDir(), "n1")
			o.FS = fs
			o.SyncGroupWindow = 300 * time.Millisecond
			s := mustOpen(t, o)
			put(t, s, 1, "armed", "a synced write starts the window")
			_, wait, err := s.UpdateNoSyncWait(1, []byte("k"), func([]byte, bool) ([]byte, bool, error) { return []byte("v"), true, nil })
			if err != nil {
				t.Fatal(err)
			}
			unchanged := func(old []byte, found bool) ([]byte, bool, error) {
				if !found || string(old) != "v" {
					return nil, false, fmt.Errorf("read %q, %v; want the applied write", old, found)
				}
				return nil, false, nil
			}
			if batched {
				_, err = s.UpdateBatch([]BatchUpdate{{Partition: 1, Key: []byte("k"), Fn: unchanged}})
			} else {
				_, err = s.Update(1, []byte("k"), unchanged)
			}
			if err != nil {
				t.Fatal(err)
			}
			crashed := fs.CrashClone(vfs.CrashCloneCfg{})
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			o.FS = crashed
			s.Close()
			s = mustOpen(t, o)
			if v, err := s.Get(1, []byte("k")); err != nil || string(v) != "v" {
				t.Fatalf("the value the unchanged update returned is not durable: %q, %v", v, err)
			}
		})
	}
}
