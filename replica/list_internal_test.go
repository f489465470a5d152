package replica

import (
	"fmt"
	"slices"
	"testing"

	"dynakv/versioning"
)

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func TestLocalListKeys(t *testing.T) {
	l := openLocal(t, "n1", 100)
	const p = 7
	for _, k := range []string{"a1", "a2", "a3", "b1", "b2", "gone", "c1"} {
		s, err := l.Coordinate(p, []byte(k), Write{Value: []byte("v")})
		if err != nil {
			t.Fatal(err)
		}
		if k == "gone" {
			if _, err := l.Coordinate(p, []byte(k), Write{Context: s.Context(), Delete: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := l.Coordinate(p+1, []byte("a0"), Write{Value: []byte("other partition")}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		q        ListQuery
		keys     []string
		done     bool
		last     string
		scanned  int
		wantFail bool
	}{
		{name: "everything", q: ListQuery{Limit: 100, MaxScan: 100}, keys: []string{"a1", "a2", "a3", "b1", "b2", "c1"}, done: true, scanned: 7},
		{name: "after a key", q: ListQuery{After: []byte("a3"), Limit: 100, MaxScan: 100}, keys: []string{"b1", "b2", "c1"}, done: true, scanned: 4},
		{name: "after a key that is not stored", q: ListQuery{After: []byte("b"), Limit: 100, MaxScan: 100}, keys: []string{"b1", "b2", "c1"}, done: true, scanned: 4},
		{name: "limit", q: ListQuery{Limit: 2, MaxScan: 100}, keys: []string{"a1", "a2"}, last: "a2", scanned: 2},
		{name: "limit reached on the last key", q: ListQuery{After: []byte("gone"), Limit: 1, MaxScan: 100}, keys: []string{}, done: true, scanned: 0},
		{name: "scan budget", q: ListQuery{After: []byte("b2"), Limit: 100, MaxScan: 1}, keys: []string{"c1"}, last: "c1", scanned: 1},
		{name: "a tombstone is examined, not listed", q: ListQuery{After: []byte("c1"), Limit: 100, MaxScan: 1}, keys: []string{}, done: true, scanned: 1},
		{name: "prefix", q: ListQuery{Prefix: []byte("b"), Limit: 100, MaxScan: 100}, keys: []string{"b1", "b2"}, done: true, scanned: 2},
		{name: "prefix and after", q: ListQuery{Prefix: []byte("a"), After: []byte("a1"), Limit: 100, MaxScan: 100}, keys: []string{"a2", "a3"}, done: true, scanned: 2},
		{name: "after past the prefix", q: ListQuery{Prefix: []byte("a"), After: []byte("b"), Limit: 100, MaxScan: 100}, keys: []string{}, done: true},
		{name: "a prefix nothing has", q: ListQuery{Prefix: []byte("zz"), Limit: 100, MaxScan: 100}, keys: []string{}, done: true},
		{name: "no limit", q: ListQuery{MaxScan: 100}, wantFail: true},
		{name: "limit too large", q: ListQuery{Limit: MaxListLimit + 1, MaxScan: 100}, wantFail: true},
		{name: "no scan budget", q: ListQuery{Limit: 1}, wantFail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := l.ListKeys(p, tc.q)
			if tc.wantFail {
				if err == nil {
					t.Fatalf("query %+v: no error", tc.q)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strs(page.Keys); !slices.Equal(got, tc.keys) {
				t.Errorf("keys %q, want %q", got, tc.keys)
			}
			if page.Done != tc.done || string(page.Last) != tc.last || page.Scanned != tc.scanned {
				t.Errorf("done %v, last %q, scanned %d; want %v, %q, %d", page.Done, page.Last, page.Scanned, tc.done, tc.last, tc.scanned)
			}
		})
	}
}

func TestLocalListKeysHidesKeysWithOnlyTombstones(t *testing.T) {
	l := openLocal(t, "n1", 100)
	// A key whose clock covers a deleted sibling and a concurrent live one
	// is listed: a read shows the live one.
	dot := func(n uint64) versioning.Event {
		return versioning.Event{Dot: versioning.Dot{Actor: versioning.Actor("peer"), Counter: n}}
	}
	var s *versioning.Set
	var err error
	if s, err = s.Update(nil, dot(1), versioning.Sibling{Deleted: true}, 0); err != nil {
		t.Fatal(err)
	}
	if s, err = s.Update(nil, dot(2), versioning.Sibling{Value: []byte("live")}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Merge(1, []byte("mixed"), s); err != nil {
		t.Fatal(err)
	}
	page, err := l.ListKeys(1, ListQuery{Limit: 10, MaxScan: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(page.Keys); !slices.Equal(got, []string{"mixed"}) {
		t.Fatalf("keys %q, want [mixed]", got)
	}
}

func TestUnionPages(t *testing.T) {
	b := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	for i, tc := range []struct {
		pages []ListPage
		limit int
		keys  []string
		done  bool
		last  string
	}{
		{ // both done: the union, in order, without duplicates
			pages: []ListPage{{Keys: b("a", "c"), Done: true}, {Keys: b("b", "c", "d"), Done: true}},
			limit: 10, keys: []string{"a", "b", "c", "d"}, done: true,
		},
		{ // one stopped at "b": nothing past it, though the other has it
			pages: []ListPage{{Keys: b("a", "b"), Last: []byte("b")}, {Keys: b("a", "c", "d"), Done: true}},
			limit: 10, keys: []string{"a", "b"}, last: "b",
		},
		{ // the limit cuts the union
			pages: []ListPage{{Keys: b("a", "c"), Done: true}, {Keys: b("b", "d"), Done: true}},
			limit: 3, keys: []string{"a", "b", "c"}, last: "c",
		},
		{ // the earlier of two stops bounds it
			pages: []ListPage{{Keys: b("a", "e"), Last: []byte("f")}, {Keys: b("b"), Last: []byte("c")}},
			limit: 10, keys: []string{"a", "b"}, last: "c",
		},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got := unionPages(tc.pages, tc.limit)
			if !slices.Equal(strs(got.Keys), tc.keys) || got.Done != tc.done || string(got.Last) != tc.last {
				t.Fatalf("union: keys %q done %v last %q; want %q %v %q", got.Keys, got.Done, got.Last, tc.keys, tc.done, tc.last)
			}
		})
	}
}

// BenchmarkLocalListKeys pages through a partition of 100,000 keys, 1,000
// keys a page, as a listing does on the node that holds it; b.N counts
// pages, and keys/s is the rate a listing reads one node's keys at.
func BenchmarkLocalListKeys(b *testing.B) {
	l := openLocal(b, "n1", 100)
	const keys = 100_000
	value := make([]byte, 1024)
	for i := range keys {
		if _, err := l.Coordinate(0, fmt.Appendf(nil, "user/%06d", i), Write{Value: value}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var after []byte
	listed := 0
	for b.Loop() {
		page, err := l.ListKeys(0, ListQuery{After: after, Limit: 1000, MaxScan: DefaultListScan})
		if err != nil {
			b.Fatal(err)
		}
		listed += len(page.Keys)
		after = page.Last
		if page.Done {
			after = nil
		}
	}
	b.ReportMetric(float64(listed)/b.Elapsed().Seconds(), "keys/s")
}
