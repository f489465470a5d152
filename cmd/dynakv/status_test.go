package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"dynakv/client"
	"dynakv/gossip"
)

func TestStatusShowsEveryRingMember(t *testing.T) {
	c := startCluster(t, 3)
	mustRun(t, "", "put", "-e", c.endpoint("n1"), "-c", "all", "k", "v")
	c.stop("n3")
	c.waitStatus("n1", "n3", gossip.StatusDead)
	c.waitStatus("n2", "n3", gossip.StatusDead)

	out, _ := mustRun(t, "", "status", "-e", c.endpoint("n1"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NODE") {
		t.Fatalf("status printed:\n%s\nwant a header and 3 rows", out)
	}
	for i, want := range []string{"n1 alive", "n2 alive", "n3 dead"} {
		if got := strings.Join(strings.Fields(lines[i+1])[:2], " "); got != want {
			t.Errorf("row %d starts %q, want %q", i+1, got, want)
		}
	}

	out, _ = mustRun(t, "", "status", "-e", c.endpoint("n2"), "-o", "json")
	var rows []client.NodeStatus
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("status -o json = %s (%v), want 3 rows", out, err)
	}
	share := 0.0
	for _, r := range rows[:2] {
		if r.Version == "" || r.DiskBytes == 0 || r.ReplicaPartitions == 0 {
			t.Errorf("live node row %+v lacks its figures", r)
		}
		share += r.RingShare
	}
	if rows[2].Status != "dead" || rows[2].Version != "" {
		t.Errorf("dead node row %+v, want only its gossip status", rows[2])
	}
	if share <= 0 || share >= 1 {
		t.Errorf("the live nodes own %.2f of the ring, want a part of it", share)
	}
}

func TestStatusListsRunningTransfersAndLeaves(t *testing.T) {
	var rows [2]client.NodeStatus
	rows[0].ID, rows[1].ID = "n1", "n2"
	rows[0].Transfers.Running = []client.RunningTransfer{{Partition: 17, Kind: "to-newcomers", To: []string{"n4", "n5"}, KeysSent: 300, Started: time.Now()}}
	rows[1].Transfers.Leave = &client.LeaveProgress{Phase: "handing off", PartitionsTotal: 10, PartitionsDone: 5}
	var out strings.Builder
	if err := printRunningTransfers(&out, rows[:]); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RUNNING TRANSFERS", "n1", "17", "to-newcomers", "n4,n5", "300", "n2 is leaving: [###############...............] 5/10 partitions, handing off"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := printRunningTransfers(&out, []client.NodeStatus{{ID: "n1"}}); err != nil || out.Len() != 0 {
		t.Errorf("with nothing running it printed %q, %v; want nothing", out.String(), err)
	}
}

// A node whose data has not settled after a ring change says so in the
// hand-off column; a settled one does not.
func TestStatusShowsANodeThatIsSettling(t *testing.T) {
	rows := []client.NodeStatus{{ID: "n1", Version: "v"}, {ID: "n2", Version: "v"}}
	rows[0].Transfers.PendingPartitions = 3
	rows[0].Transfers.Settling = true
	var out strings.Builder
	if err := printStatus(&out, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 3 || !strings.Contains(lines[1], "3 partitions, settling") || strings.Contains(lines[2], "settling") {
		t.Errorf("status:\n%s\nwant n1 (and only n1) shown settling with 3 partitions to hand off", out.String())
	}
}
