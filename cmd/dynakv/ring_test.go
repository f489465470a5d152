package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"dynakv/client"
)

func TestRingSharesEveryPartitionAmongTheMembers(t *testing.T) {
	c := startCluster(t, 3)
	out, _ := mustRun(t, "", "ring", "-e", c.endpoint("n3"))
	header, table, ok := strings.Cut(out, "\n\n")
	if !ok {
		t.Fatalf("ring printed:\n%s\nwant a header, a blank line and a table", out)
	}
	for _, want := range []string{"N:", "Replicas per key:", "Partitions:"} {
		if !strings.Contains(header, want) {
			t.Errorf("ring header lacks %q:\n%s", want, header)
		}
	}
	rows := strings.Split(strings.TrimSpace(table), "\n")
	if len(rows) != 4 || strings.Join(strings.Fields(rows[0]), " ") != "MEMBER OWNED SHARE REPLICAS" {
		t.Fatalf("ring table:\n%s\nwant a header and 3 members", table)
	}
	owned := 0
	for i, row := range rows[1:] {
		f := strings.Fields(row)
		n, err := strconv.Atoi(f[1])
		if f[0] != c.ids()[i] || err != nil || !strings.HasSuffix(f[2], "%") {
			t.Fatalf("ring row %q, want %s, a count and a share", row, c.ids()[i])
		}
		owned += n
	}
	if owned != 64 {
		t.Errorf("owned partitions sum to %d, want 64:\n%s", owned, out)
	}

	out, _ = mustRun(t, "", "ring", "-e", c.endpoint("n1"), "-o", "json")
	var info client.RingInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("ring -o json = %s: %v", out, err)
	}
	owned = 0
	for _, m := range info.Members {
		owned += m.Partitions
	}
	if info.N != 3 || info.Replicas != 3 || info.Partitions != 64 || len(info.Members) != 3 || owned != 64 {
		t.Errorf("ring -o json = %+v, want N 3, 3 replicas, 64 partitions owned by 3 members", info)
	}
}
