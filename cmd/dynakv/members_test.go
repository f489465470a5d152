package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"dynakv/client"
)

func TestMembersListsEveryNodeAliveInTheRing(t *testing.T) {
	c := startCluster(t, 3)
	out, _ := mustRun(t, "", "members", "-e", c.endpoint("n2"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "ID STATUS IN RING HTTP GOSSIP" {
		t.Fatalf("members printed:\n%s\nwant a header and 3 rows", out)
	}
	for i, id := range c.ids() {
		want := []string{id, "alive", "yes", c.nodes[id].HTTPAddr(), c.nodes[id].GossipAddr()}
		if got := strings.Fields(lines[i+1]); !slices.Equal(got, want) {
			t.Errorf("row %d = %q, want %q", i+1, got, want)
		}
	}

	out, _ = mustRun(t, "", "members", "-e", c.endpoint("n1"), "-o", "json")
	var ms []client.Member
	if err := json.Unmarshal([]byte(out), &ms); err != nil || len(ms) != 3 {
		t.Fatalf("members -o json = %s (%v), want an array of 3", out, err)
	}
	for _, m := range ms {
		if m.Status != "alive" || !m.InRing || m.HTTPAddr != c.nodes[m.ID].HTTPAddr() {
			t.Errorf("member %+v, want alive, in the ring, http_addr %s", m, c.nodes[m.ID].HTTPAddr())
		}
	}
}

func TestPrintMembersSortsByIDAndShowsMissingAddresses(t *testing.T) {
	var b strings.Builder
	err := printMembers(&b, []client.Member{
		{ID: "n2", Status: "dead", InRing: true, HTTPAddr: "h2", GossipAddr: "g2"},
		{ID: "n1", Status: "left"},
	})
	want := "ID  STATUS  IN RING  HTTP  GOSSIP\n" +
		"n1  left    no       -     -\n" +
		"n2  dead    yes      h2    g2\n"
	if err != nil || b.String() != want {
		t.Errorf("printMembers = %q, %v; want %q", b.String(), err, want)
	}
}
