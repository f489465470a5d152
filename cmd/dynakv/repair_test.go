package main

import (
	"encoding/json"
	"strings"
	"testing"

	"dynakv/api"
	"dynakv/internal/testutil"
)

func TestRepairFollowsTheRunAndShowsStatus(t *testing.T) {
	c := startCluster(t, 3)
	mustRun(t, "", "put", "-e", c.endpoint("n1"), "-c", "all", "k", "v")
	testutil.Eventually(t, convergeWithin, "n2's hash trees to be built", func() bool {
		out, _ := mustRun(t, "", "repair", "--status", "-e", c.endpoint("n2"), "-o", "json")
		var st api.AntiEntropyStatus
		return json.Unmarshal([]byte(out), &st) == nil && st.Partitions == 64 && st.TreesBuilt == 64
	})

	out, _ := mustRun(t, "", "repair", "-e", c.endpoint("n2"))
	// Run ids count every run of the node, the ones that end ownership
	// transfers after each join included.
	if !strings.HasPrefix(out, "repair ") || !strings.Contains(out, " finished in ") || !strings.Contains(out, "64 partitions exchanged") {
		t.Errorf("repair printed %q", out)
	}
	out, _ = mustRun(t, "", "repair", "--status", "-e", c.endpoint("n2"))
	for _, want := range []string{"Hash trees built:", "64 of 64 partitions", "Keys repaired:", "Tombstones reaped:", "REPAIR", "finished in"} {
		if !strings.Contains(out, want) {
			t.Errorf("repair --status lacks %q:\n%s", want, out)
		}
	}

	out, _ = mustRun(t, "", "repair", "-e", c.endpoint("n1"), "--partition", "3", "--wait=false", "-o", "json")
	var run api.RepairRun
	if err := json.Unmarshal([]byte(out), &run); err != nil || run.Partitions != 1 || run.ID == 0 {
		t.Errorf("repair --partition 3 --wait=false -o json printed %q (%v)", out, err)
	}
	_, stderr, err := runCLI(t, "", "repair", "-e", c.endpoint("n1"), "--partition", "64")
	if err == nil || !strings.Contains(err.Error(), "no such partition") {
		t.Errorf("repair of partition 64 of 64: err = %v (stderr %s), want the server's refusal", err, stderr)
	}
}
