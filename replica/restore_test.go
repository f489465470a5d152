package replica_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"dynakv/internal/testutil"
	"dynakv/replica"
	"dynakv/versioning"
)

func (c *cluster) restore(at, key string, state *versioning.Set, opts replica.WriteOptions) error {
	return c.nodes[at].Restore(context.Background(), []byte(key), state, opts)
}

// A backup taken of a key with siblings and restored into a cluster that
// lost it brings back every sibling with its clock: a write with the
// context a read of the restored key gives supersedes exactly them.
func TestRestoreBringsBackSiblingsWithTheirClocks(t *testing.T) {
	from, into := newCluster(t, 3), newCluster(t, 5)
	key := "cart"
	if _, err := from.put("n1", key, "a", nil, replica.WriteOptions{W: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := from.put("n2", key, "b", nil, replica.WriteOptions{W: 3}); err != nil {
		t.Fatal(err)
	}
	backup, err := from.get("n1", key, replica.ReadOptions{R: 3})
	if err != nil || !slices.Equal(values(backup), []string{"a", "b"}) {
		t.Fatalf("the key to back up: %v, %v", values(backup), err)
	}
	at := into.nonPrimary(key) // a node that keeps no copy coordinates too
	if err := into.restore(at, key, backup, replica.WriteOptions{W: 3}); err != nil {
		t.Fatalf("restore at %s: %v", at, err)
	}
	for _, p := range into.primaries(key) {
		if got := into.stored(p, key); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("primary %s holds %v after a w=all restore, want [a b]", p, got)
		}
	}
	if got := into.stored(at, key); got != nil {
		t.Fatalf("the coordinator, not a replica, keeps %v", got)
	}
	read, err := into.get("n1", key, replica.ReadOptions{R: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !read.Context().Equal(backup.Context()) {
		t.Fatalf("restored context %v, backed up %v", read.Context(), backup.Context())
	}
	resolved, err := into.put("n1", key, "ab", read.Context(), replica.WriteOptions{W: 3})
	if err != nil || !slices.Equal(values(resolved), []string{"ab"}) {
		t.Fatalf("a write with the restored key's context left %v, %v; want [ab]", values(resolved), err)
	}
}

// Restoring is a merge: writes made since the backup stay, a delete since
// the backup keeps the key deleted, and restoring twice changes nothing.
func TestRestoreLosesNothingWrittenSince(t *testing.T) {
	c := newCluster(t, 3)
	all := replica.WriteOptions{W: 3}
	old, err := c.put("n1", "k", "old", nil, all)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.put("n2", "k", "new", old.Context(), all); err != nil {
		t.Fatal(err)
	}
	gone, err := c.put("n1", "gone", "v", nil, all)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.nodes["n1"].Put(context.Background(), []byte("gone"), replica.Write{Context: gone.Context(), Delete: true}, all); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := c.restore("n3", "k", old, all); err != nil {
			t.Fatal(err)
		}
		if err := c.restore("n3", "gone", gone, all); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range c.ids {
		if got := c.stored(id, "k"); !slices.Equal(got, []string{"new"}) {
			t.Errorf("%s holds %v for a key written since the backup, want [new]", id, got)
		}
		if got := c.stored(id, "gone"); got != nil {
			t.Errorf("%s holds %v for a key deleted since the backup, want nothing visible", id, got)
		}
	}
}

// A restore is a write: levels fail as a write's, and a down primary's
// copy is held as a hint and delivered when it is back.
func TestRestoreHonoursLevelsAndHandsOff(t *testing.T) {
	c := newCluster(t, 5)
	key := "k"
	state, err := c.put(c.primaries(key)[0], key, "v", nil, replica.WriteOptions{W: 3})
	if err != nil {
		t.Fatal(err)
	}
	primaries := c.primaries(key)
	down := primaries[2]
	c.kill(down)
	at := primaries[0]
	var unavailable *replica.UnavailableError
	if err := c.restore(at, key, state, replica.WriteOptions{W: 3, PW: 3}); !errors.As(err, &unavailable) || unavailable.Op != "restore" {
		t.Fatalf("pw=all restore with a primary down: %v, want UnavailableError", err)
	}
	// The down primary has the key already: restore a version it lacks,
	// from another cluster's backup, so only the restore can bring it.
	other := newCluster(t, 3)
	extra, err := other.put("n1", key, "x", nil, replica.WriteOptions{W: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.restore(at, key, extra, replica.WriteOptions{W: 3}); err != nil {
		t.Fatalf("w=all restore through a fallback: %v", err)
	}
	c.revive(down)
	testutil.Eventually(t, 10*time.Second, "the revived primary to get the restored state from a hint", func() bool {
		return slices.Equal(c.stored(down, key), []string{"v", "x"})
	})
	if err := c.restore(at, key, &versioning.Set{}, replica.WriteOptions{W: 1}); err == nil {
		t.Fatal("restoring an empty state succeeded")
	}
}
