package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"dynakv/client"
)

func TestKeysListsEveryLiveKeyThroughAnyNode(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	var want, wantUsers []string
	for i := range 40 {
		key := fmt.Sprintf("item/%02d", i)
		if i%4 == 0 {
			key = fmt.Sprintf("user/%02d", i)
			wantUsers = append(wantUsers, key)
		}
		// w=all: a listing reads one replica of each partition.
		wctx, err := c.clients["n1"].Put(ctx, key, []byte("v"), "text/plain", "", client.Levels{W: "all"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 5 {
			if _, err := c.clients["n2"].Delete(ctx, key, wctx, client.Levels{W: "all"}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want = append(want, key)
	}
	slices.Sort(want)

	lines := func(out string) []string {
		return slices.Sorted(slices.Values(strings.Fields(out)))
	}
	for _, id := range c.ids() {
		out, _ := mustRun(t, "", "keys", "-e", c.endpoint(id), "--page-size", "7")
		if got := lines(out); !slices.Equal(got, want) {
			t.Fatalf("keys through %s: %v\nwant %v", id, got, want)
		}
	}
	out, _ := mustRun(t, "", "keys", "-e", c.endpoint("n3"), "--prefix", "user/")
	if got := lines(out); !slices.Equal(got, wantUsers) {
		t.Fatalf("keys --prefix user/: %v, want %v", got, wantUsers)
	}
	out, _ = mustRun(t, "", "keys", "-e", c.endpoint("n1"), "--limit", "5", "--page-size", "2")
	if got := lines(out); len(got) != 5 || len(slices.Compact(got)) != 5 {
		t.Fatalf("keys --limit 5: %v, want 5 distinct keys", got)
	}

	out, _ = mustRun(t, "", "keys", "-e", c.endpoint("n2"), "-o", "json", "--page-size", "30")
	var pages []client.KeysPage
	var fromJSON []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var p client.KeysPage
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("keys -o json line %q: %v", line, err)
		}
		pages = append(pages, p)
		fromJSON = append(fromJSON, p.Keys...)
	}
	if len(pages) < 2 || pages[len(pages)-1].Continuation != "" || pages[0].Continuation == "" {
		t.Fatalf("keys -o json --page-size 30 printed pages %+v; want at least two, the last without a continuation", pages)
	}
	if slices.Sort(fromJSON); !slices.Equal(fromJSON, want) {
		t.Fatalf("keys -o json: %v, want %v", fromJSON, want)
	}

	// A stopped node is routed around: its partitions are read from the
	// other replicas.
	c.stop("n3")
	c.waitStatus("n1", "n3", "dead")
	out, _ = mustRun(t, "", "keys", "-e", c.endpoint("n1"))
	if got := lines(out); !slices.Equal(got, want) {
		t.Fatalf("keys with n3 stopped: %v\nwant %v", got, want)
	}

	if err := runFails(t, "keys", "-e", c.endpoint("n1"), "--page-size", "0"); err == nil || !strings.Contains(err.Error(), "--page-size 0") {
		t.Fatalf("keys --page-size 0: %v, want an error naming --page-size", err)
	}
	if err := runFails(t, "keys", "-e", c.endpoint("n1"), "--prefix", "\xff"); err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Fatalf("keys --prefix with a byte that is not UTF-8: %v, want the server's 400 naming the prefix", err)
	}
}
