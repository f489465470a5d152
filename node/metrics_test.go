package node_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"dynakv/client"
)

// A node's /metrics has the families operators rely on, with HELP lines.
func TestMetricsExposeTheNodesFigures(t *testing.T) {
	c := startCluster(t, 3)
	if err := c.put("n1", "m", "v", "", client.Levels{W: "all"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.get("n1", "m", client.Levels{R: "all"}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + c.nodes["n1"].HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, family := range []string{
		`dynakv_http_requests_total{`,
		`dynakv_coordinator_requests_total{level="3",op="write",result="ok"}`,
		`dynakv_coordinator_request_duration_seconds_bucket{`,
		`dynakv_replica_calls_total{call="replicate",peer="n2",result="ok"}`,
		`dynakv_read_siblings_bucket{`,
		`dynakv_storage_disk_bytes `,
		`dynakv_storage_write_stalls_total `,
		"\ndynakv_storage_failed 0\n",
		`dynakv_storage_wal_sync_seconds_bucket{le="`,
		`dynakv_storage_wal_sync_seconds_count `,
		`dynakv_transport_entries_per_call_count{call="replicate"} `,
		`dynakv_transport_entries_per_call_count{call="read"} `,
		`dynakv_gossip_members{status="alive"} 3`,
		`dynakv_ring_members 3`,
		`dynakv_transfer_keys_sent_total `,
		`# HELP dynakv_aae_exchanges_total `,
	} {
		if !strings.Contains(string(body), family) {
			t.Errorf("/metrics lacks %s", family)
		}
	}
}
