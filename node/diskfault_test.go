package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"dynakv/client"
	"dynakv/internal/testutil"
	"dynakv/node"
	"dynakv/storage"
)

// A node whose disk stops taking writes stops serving (its /healthz says
// so, its data requests answer 503 and write nothing) and gossiping (its
// peers see it dead and route around it), the others keep acknowledging
// writes without it, and once it restarts on a working disk
// every acknowledged write, from before and during the fault, is read back
// through it.
func TestAFailedDiskStopsTheNodeAndLosesNoAcknowledgedWrite(t *testing.T) {
	fail := testutil.FailingWAL()
	c := startClusterWith(t, 3, func(cfg *node.Config) {
		if cfg.ID == "n3" {
			cfg.StorageFS = errorfs.Wrap(vfs.Default, fail)
			cfg.Sync = true // acknowledged means synced on n3
		}
	})
	ctx := context.Background()
	all := client.Levels{R: "all", W: "all"}
	var acked []string
	for i := range 10 {
		key := fmt.Sprint("before-", i)
		if err := c.put("n1", key, key, "", all); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, key)
	}

	fail.On()
	// Concurrent quorum writes through n1 and n2: the first to reach n3 fails
	// there and n3's store stops, the others reach it as it fails or after;
	// n1 and n2 acknowledge every one all the same.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			key := fmt.Sprint("during-", i)
			if err := c.put(c.ids()[i%2], key, key, "", client.Levels{W: "quorum"}); err != nil {
				t.Errorf("quorum write of %s with n3's disk failing: %v", key, err)
				return
			}
			mu.Lock()
			acked = append(acked, key)
			mu.Unlock()
		})
	}
	wg.Wait()
	testutil.Eventually(t, 5*time.Second, "n3's /healthz to report its failed disk", func() bool {
		err := c.clients["n3"].Health(ctx)
		var e *client.Error
		return errors.As(err, &e) && e.Status == http.StatusServiceUnavailable && strings.Contains(e.Message, "disk")
	})
	// n3 stops gossiping: its peers see it dead (it stays in the ring) and
	// stop sending it requests; it still answers for inspection.
	c.waitStatus("n1", "n3", "dead")
	c.waitRing("n1", "n2", "n3")
	if _, err := c.clients["n3"].Members(ctx); err != nil {
		t.Errorf("n3's member list after its storage failed: %v", err)
	}
	resp, err := http.Get("http://" + c.nodes["n3"].HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\ndynakv_storage_failed 1\n") {
		t.Error("n3's /metrics does not show dynakv_storage_failed 1")
	}
	err = c.put("n3", "refused", "v", "", client.Levels{W: "one"})
	if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusServiceUnavailable || !strings.Contains(e.Message, "another node") {
		t.Fatalf("a write through n3 with its disk failed: %v, want 503 saying to use another node", err)
	}
	if obj, err := c.get("n1", "refused", client.Levels{R: "quorum"}); err != nil || obj.Found || obj.Deleted {
		t.Errorf("the refused write left a trace elsewhere (%+v, %v): it was written", obj, err)
	}
	if _, err := c.get("n3", "before-1", client.Levels{R: "one"}); !client.IsCode(err, "unavailable") {
		t.Errorf("a read through n3 with its disk failed: %v, want 503", err)
	}

	// Restart n3 on a working disk: its Close reports the failure.
	fail.Off()
	if err := c.nodes["n3"].Close(); err == nil {
		t.Error("closing n3 reported no storage failure")
	}
	c.nodes["n3"] = nil
	c.start(c.cfgs["n3"])
	if err := c.clients["n3"].Health(ctx); err != nil {
		t.Fatalf("n3 after a restart on a working disk: %v", err)
	}
	for _, key := range acked {
		obj, err := c.get("n3", key, client.Levels{R: "all"})
		if err != nil || !slices.Equal(values(obj), []string{key}) {
			t.Errorf("acknowledged %s read through the restarted n3 with r=all: %v, %v", key, values(obj), err)
		}
	}
}

// With --disk-failure-policy die, the node stops instead: Done closes and
// Err says the disk failed, so `dynakv serve` exits with that error for a
// supervisor to restart it.
func TestAFailedDiskStopsTheNodeWithPolicyDie(t *testing.T) {
	fail := testutil.FailingWAL()
	c := startClusterWith(t, 3, func(cfg *node.Config) {
		if cfg.ID == "n3" {
			cfg.StorageFS = errorfs.Wrap(vfs.Default, fail)
			cfg.Sync = true
			cfg.DiskFailurePolicy = node.DiskFailureDie
		}
	})
	fail.On()
	if err := c.put("n1", "k", "v", "", client.Levels{W: "quorum"}); err != nil {
		t.Fatalf("quorum write with n3's disk failing: %v", err)
	}
	select {
	case <-c.nodes["n3"].Done():
	case <-time.After(10 * time.Second):
		t.Fatal("n3 did not stop after its disk failed")
	}
	if err := c.nodes["n3"].Err(); !errors.Is(err, storage.ErrFailed) {
		t.Fatalf("n3 stopped with %v, want an error wrapping storage.ErrFailed", err)
	}
	fail.Off()
}
