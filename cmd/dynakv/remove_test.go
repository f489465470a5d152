package main

import (
	"slices"
	"strings"
	"testing"

	"dynakv/client"
	"dynakv/gossip"
)

func TestRemoveRefusesLiveAndUnknownNodesAndTakesADeadOneOut(t *testing.T) {
	c := startCluster(t, 3)
	e := c.endpoint("n1")
	if err := runFails(t, "remove", "-e", e, "n3"); !strings.Contains(err.Error(), "node_alive") || !strings.Contains(err.Error(), "run leave on it") {
		t.Errorf("remove of a live node: %v, want the server's node_alive message", err)
	}
	if err := runFails(t, "remove", "-e", e, "n9"); !strings.Contains(err.Error(), "unknown_node") {
		t.Errorf("remove of an unknown node: %v, want the server's unknown_node message", err)
	}

	c.stop("n3")
	c.waitStatus("n1", "n3", gossip.StatusDead)
	out, _ := mustRun(t, "", "remove", "-e", e, "n3")
	if !strings.HasPrefix(out, "removed n3: ") {
		t.Errorf("remove printed %q, want the server's answer", out)
	}
	c.waitMembers("n2", "n3 left and out of the ring", func(ms []client.Member) bool {
		i := slices.IndexFunc(ms, func(m client.Member) bool { return m.ID == "n3" })
		return i >= 0 && ms[i].Status == gossip.StatusLeft && !ms[i].InRing
	})
	out, _ = mustRun(t, "", "members", "-e", c.endpoint("n2"))
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(row string) bool {
		return strings.HasPrefix(strings.Join(strings.Fields(row), " "), "n3 left no ")
	}) {
		t.Errorf("members after remove:\n%s\nwant n3 left, out of the ring", out)
	}
}
