package replica_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"dynakv/internal/testutil"
	"dynakv/replica"
	"dynakv/storage"
)

// A node whose disk failed serves no data, not even what its peers alone
// could serve: a read or a write of a key it holds no copy of, which it
// would otherwise coordinate entirely through the key's primaries, gets
// ErrStorageFailed at once, so every client is sent elsewhere the same way
// (the API's 503 "send the request to another node").
func TestClusterNodeWithAFailedDiskServesNoData(t *testing.T) {
	fail := testutil.FailingWAL()
	c := newClusterWith(t, 5, func(id string, o *storage.Options) {
		if id == "n1" {
			o.FS = errorfs.Wrap(vfs.Default, fail)
			o.Sync = true
		}
	})
	key := c.keyWhere(func(primaries []string) bool { return !slices.Contains(primaries, "n1") })
	if _, err := c.put("n2", key, "v", nil, replica.WriteOptions{W: 3}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.get("n1", key, replica.ReadOptions{R: 1}); err != nil || len(values(got)) != 1 {
		t.Fatalf("read through n1 before its disk failed: %v, %v", values(got), err)
	}

	// n1 coordinates one write of its own key: its disk fails it.
	fail.On()
	own := c.keyWhere(func(primaries []string) bool { return slices.Contains(primaries, "n1") })
	if _, err := c.put("n1", own, "v", nil, replica.WriteOptions{W: 1}); err == nil {
		t.Fatal("a write whose WAL write failed on its coordinator was acknowledged")
	}
	if err := c.locals["n1"].Err(); !errors.Is(err, replica.ErrStorageFailed) {
		t.Fatalf("n1's replica after the failed write: Err = %v, want ErrStorageFailed", err)
	}

	if _, err := c.get("n1", key, replica.ReadOptions{R: 1}); !errors.Is(err, replica.ErrStorageFailed) {
		t.Errorf("a read through n1 of a key only its peers hold: %v, want ErrStorageFailed", err)
	}
	if _, err := c.put("n1", key, "w", nil, replica.WriteOptions{W: 1}); !errors.Is(err, replica.ErrStorageFailed) {
		t.Errorf("a write through n1 of a key only its peers hold: %v, want ErrStorageFailed", err)
	}
	if got, err := c.get("n2", key, replica.ReadOptions{R: 3}); err != nil || len(values(got)) != 1 || values(got)[0] != "v" {
		t.Errorf("the key through n2: %v, %v, want only v (nothing written through n1)", values(got), err)
	}

	// Nor does it list keys, and its peers list theirs without it.
	if _, err := c.lister("n1", 0).List(context.Background(), replica.ListRequest{Limit: 10}); !errors.Is(err, replica.ErrStorageFailed) {
		t.Errorf("a key listing through n1: %v, want ErrStorageFailed", err)
	}
	if got, _ := listAll(t, c.lister("n2", 0), "", 10); !slices.Contains(got, key) {
		t.Errorf("a key listing through n2 with n1's disk failed: %v, want it to hold %q", got, key)
	}
}

// keyWhere returns the first of the keys k0, k1, ... whose primaries satisfy ok.
func (c *cluster) keyWhere(ok func(primaries []string) bool) string {
	for i := 0; ; i++ {
		if key := fmt.Sprint("k", i); ok(c.primaries(key)) {
			return key
		}
	}
}
