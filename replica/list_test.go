package replica_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"dynakv/replica"
)

// lister returns a key lister on node id of c, whose pages examine at most
// maxScan stored keys.
func (c *cluster) lister(id string, maxScan int) *replica.Lister {
	c.t.Helper()
	l, err := replica.NewLister(replica.ListerConfig{
		Self: id, Local: c.locals[id], Placement: placement{c.ring},
		Liveness: liveness{c, id}, Peers: c.net.Transport(id).(replica.KeyLister), MaxScan: maxScan,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return l
}

// listAll follows a listing from its start to its end and returns every key
// listed, in order, failing the test on a key listed twice.
func listAll(t *testing.T, l *replica.Lister, prefix string, limit int) (keys []string, pages int) {
	t.Helper()
	seen := map[string]bool{}
	req := replica.ListRequest{Prefix: []byte(prefix), Limit: limit}
	for {
		page, err := l.List(context.Background(), req)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if len(page.Keys) > limit {
			t.Fatalf("page %d holds %d keys, over the limit of %d", pages, len(page.Keys), limit)
		}
		for _, k := range page.Keys {
			if seen[string(k)] {
				t.Fatalf("key %q listed twice", k)
			}
			seen[string(k)] = true
			keys = append(keys, string(k))
		}
		if page.Next == nil {
			return keys, pages
		}
		if pages > 10_000 {
			t.Fatal("the listing does not end")
		}
		req.Cursor = *page.Next
	}
}

func TestListerPagesThroughEveryVisibleKeyOnce(t *testing.T) {
	c := newCluster(t, 5)
	// Every write reaches all three replicas before the listing starts: a
	// listing reads one replica of each partition.
	all := replica.WriteOptions{W: 3}
	want := map[string]bool{}
	for i := range 150 {
		key := fmt.Sprintf("user/%03d", i)
		if _, err := c.put(c.ids[i%5], key, "v", nil, all); err != nil {
			t.Fatal(err)
		}
		want[key] = true
	}
	for i := range 30 {
		key := fmt.Sprintf("order/%03d", i)
		s, err := c.put(c.ids[i%5], key, "v", nil, all)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // deleted keys are not listed
			if _, err := c.nodes[c.ids[0]].Put(context.Background(), []byte(key), replica.Write{Context: s.Context(), Delete: true}, all); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want[key] = true
	}

	for _, tc := range []struct {
		name    string
		maxScan int
		limit   int
	}{
		{"one page", 0, replica.MaxListLimit},
		{"pages cut by the limit", 0, 7},
		{"pages cut by the scan budget", 5, 1000},
		{"both, one key at a time", 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, at := range []string{"n1", "n4"} {
				got, pages := listAll(t, c.lister(at, tc.maxScan), "", tc.limit)
				if !slices.Equal(sorted(got), slices.Sorted(maps.Keys(want))) {
					t.Fatalf("listed through %s: %d keys %v, want the %d visible keys", at, len(got), got, len(want))
				}
				if tc.limit < len(want) && pages < 2 {
					t.Fatalf("listed through %s in %d page(s) with a limit of %d", at, pages, tc.limit)
				}
			}
		})
	}

	got, _ := listAll(t, c.lister("n2", 4), "order/", 3)
	var wantOrders []string
	for k := range want {
		if strings.HasPrefix(k, "order/") {
			wantOrders = append(wantOrders, k)
		}
	}
	if !slices.Equal(sorted(got), sorted(wantOrders)) {
		t.Fatalf("prefix order/: %v, want %v", got, sorted(wantOrders))
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func TestListerRoutesAroundDownNodes(t *testing.T) {
	c := newCluster(t, 5)
	var want []string
	for i := range 100 {
		key := fmt.Sprintf("k%03d", i)
		if _, err := c.put("n1", key, "v", nil, replica.WriteOptions{W: 3}); err != nil {
			t.Fatal(err)
		}
		want = append(want, key)
	}

	// With one node down every partition keeps two live primaries, and a
	// listing through a node that is not a primary of every partition
	// reads the rest from its peers.
	c.kill("n2")
	got, _ := listAll(t, c.lister("n1", 0), "", 9)
	if !slices.Equal(sorted(got), want) {
		t.Fatalf("with n2 down: %d keys, want %d", len(got), len(want))
	}

	// A peer that gossip still believes alive but cannot answer is passed
	// over for the partition's next primary.
	c.mu.Lock()
	delete(c.down, "n2") // n1 thinks n2 is alive; the network still drops it
	c.mu.Unlock()
	got, _ = listAll(t, c.lister("n1", 0), "", 1000)
	if !slices.Equal(sorted(got), want) {
		t.Fatalf("with n2 unreachable but seen alive: %d keys, want %d", len(got), len(want))
	}

	// With every primary of a partition down, the listing cannot cover it.
	c.kill("n2")
	dead, _ := c.ring.PreferenceList(0)
	for _, id := range dead {
		c.kill(id)
	}
	at := slices.DeleteFunc(slices.Clone(c.ids), func(id string) bool { return slices.Contains(dead, id) })[0]
	_, err := c.lister(at, 0).List(context.Background(), replica.ListRequest{Limit: 1000})
	unavailable, ok := errors.AsType[*replica.PartitionUnavailableError](err)
	if !ok {
		t.Fatalf("with %v down: %v, want a PartitionUnavailableError", dead, err)
	}
	if primaries, _ := c.ring.PreferenceList(unavailable.Partition); slices.ContainsFunc(primaries, func(id string) bool { return !c.isDown(id) }) {
		t.Fatalf("partition %d (primaries %v) has a live primary, yet was reported unavailable", unavailable.Partition, primaries)
	}
}

func (c *cluster) isDown(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down[id]
}

func TestListerRefusesACursorOfAnotherRing(t *testing.T) {
	c := newCluster(t, 3)
	_, err := c.lister("n1", 0).List(context.Background(), replica.ListRequest{Cursor: replica.ListCursor{Partition: 64}, Limit: 10})
	if !errors.Is(err, replica.ErrBadCursor) {
		t.Fatalf("a cursor at partition 64 of a 64-partition ring: %v, want ErrBadCursor", err)
	}
}

// movingPlacement is a placement in the middle of a ring change: for every
// partition, prev names a node that owned it before and may still hold
// keys its new primaries have not received yet.
type movingPlacement struct {
	placement
	prev map[uint32][]string
}

func (p movingPlacement) PreviousOwners(partition uint32) []string { return p.prev[partition] }

func TestListerAsksThePreviousOwnersOfAMovingPartition(t *testing.T) {
	c := newCluster(t, 5)
	ctx := context.Background()
	// Keys only a previous owner holds (its new primaries have not received
	// them yet), next to keys the primaries hold.
	prev := map[uint32][]string{}
	var want []string
	for i := range 60 {
		key := fmt.Sprintf("k%02d", i)
		partition, primaries, _ := c.ring.Locate([]byte(key))
		if i%2 == 0 {
			if _, err := c.put(primaries[0], key, "v", nil, replica.WriteOptions{W: 3}); err != nil {
				t.Fatal(err)
			}
		} else {
			old := c.nonPrimary(key)
			s, err := c.locals[old].Coordinate(partition, []byte(key), replica.Write{Value: []byte("only here")})
			if err != nil || s.NumVisible() != 1 {
				t.Fatalf("write %q on %s alone: %v", key, old, err)
			}
			if !slices.Contains(prev[partition], old) {
				prev[partition] = append(prev[partition], old)
			}
		}
		want = append(want, key)
	}
	for _, at := range []string{"n1", "n3"} {
		for _, limit := range []int{1000, 4} {
			l, err := replica.NewLister(replica.ListerConfig{
				Self: at, Local: c.locals[at], Placement: movingPlacement{placement{c.ring}, prev},
				Liveness: liveness{c, at}, Peers: c.net.Transport(at).(replica.KeyLister), MaxScan: 3,
			})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := listAll(t, l, "", limit)
			if !slices.Equal(sorted(got), want) {
				t.Fatalf("through %s, pages of %d: %d keys %v, want the %d held by primaries or previous owners", at, limit, len(got), sorted(got), len(want))
			}
		}
	}

	// A previous owner that is down (it may have handed the partition over
	// and gone) is skipped, not an error.
	for _, owners := range prev {
		for _, id := range owners {
			c.kill(id)
		}
		break
	}
	at := slices.DeleteFunc(slices.Clone(c.ids), c.isDown)[0]
	l, err := replica.NewLister(replica.ListerConfig{
		Self: at, Local: c.locals[at], Placement: movingPlacement{placement{c.ring}, prev},
		Liveness: liveness{c, at}, Peers: c.net.Transport(at).(replica.KeyLister),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.List(ctx, replica.ListRequest{Limit: 1000}); err != nil {
		t.Fatalf("with a previous owner down: %v", err)
	}
}
