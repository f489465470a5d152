package main

import (
	"strings"
	"testing"

	"dynakv/client"
	"dynakv/gossip"
)

func TestLeaveWaitReturnsOnceTheNodeHasLeft(t *testing.T) {
	c := startCluster(t, 4)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		mustRun(t, "", "put", "-e", c.endpoint("n1"), "-c", "all", k, "v")
	}
	out, stderr := mustRun(t, "", "leave", "-e", c.endpoint("n4"), "--via", c.endpoint("n1"), "--timeout", "1m")
	if !strings.HasPrefix(out, "leaving: ") || !strings.Contains(out, "n4 has left the ring") {
		t.Errorf("leave --via printed %q, want the server's answer and the end", out)
	}
	t.Logf("progress:\n%s", stderr)
	c.waitStatus("n2", "n4", gossip.StatusLeft)
	<-c.nodes["n4"].Done()

	// Without --via it follows the leaving node itself.
	mustRun(t, "", "leave", "-e", c.endpoint("n3"), "--wait", "--timeout", "1m")
	c.waitStatus("n1", "n3", gossip.StatusLeft)
	if out, _ := mustRun(t, "", "get", "-e", c.endpoint("n2"), "-c", "all", "c"); out != "v" {
		t.Errorf("after two leaves, get c = %q, want v", out)
	}
}

func TestLeaveOfTheLastRingMemberIsRefused(t *testing.T) {
	c := startCluster(t, 1)
	if err := runFails(t, "leave", "-e", c.endpoint("n1")); !strings.Contains(err.Error(), "no other ring member") {
		t.Errorf("leave of a lone node: %v", err)
	}
}

func TestLeavingNodeID(t *testing.T) {
	before := []client.Member{
		{ID: "n1", HTTPAddr: "10.0.0.1:8080", Status: "alive"},
		{ID: "n2", HTTPAddr: "10.0.0.2:8080", Status: "alive"},
		{ID: "n3", HTTPAddr: "10.0.0.3:8080", Status: "leaving"},
	}
	after := []client.Member{
		{ID: "n1", HTTPAddr: "10.0.0.1:8080", Status: "alive"},
		{ID: "n2", HTTPAddr: "10.0.0.2:8080", Status: "leaving"},
		{ID: "n3", HTTPAddr: "10.0.0.3:8080", Status: "leaving"},
	}
	for _, tc := range []struct {
		endpoint      string
		before, after []client.Member
		want          string
	}{
		{"http://10.0.0.1:8080", before, after, "n1"},      // by address
		{"http://db-2.internal:8080", before, after, "n2"}, // the one that turned leaving
		{"http://db-2.internal:8080", before, nil, ""},
		{"http://db-2.internal:8080", before, before, ""},
	} {
		got, err := leavingNodeID(tc.endpoint, tc.before, tc.after)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("leavingNodeID(%s) = %q, %v; want %q", tc.endpoint, got, err, tc.want)
		}
	}
}

func TestLeaveProgressBar(t *testing.T) {
	for _, c := range []struct {
		p    client.LeaveProgress
		want string
	}{
		{client.LeaveProgress{Phase: "handing off", PartitionsTotal: 200, PartitionsDone: 50}, "[#######.......................] 50/200 partitions, handing off"},
		{client.LeaveProgress{Phase: "hints", PartitionsTotal: 200, PartitionsDone: 200}, "[##############################] 200/200 partitions, hints"},
		{client.LeaveProgress{Phase: "handing off"}, "[##############################] 0/0 partitions, handing off"},
	} {
		if got := progressBar(c.p); got != c.want {
			t.Errorf("progressBar(%+v) = %q, want %q", c.p, got, c.want)
		}
	}
}
