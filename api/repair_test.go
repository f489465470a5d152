package api_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"dynakv/api"
)

// fakeAntiEntropy records repairs and answers a fixed status.
type fakeAntiEntropy struct {
	asked [][]uint32
	err   error
}

func (f *fakeAntiEntropy) Repair(partitions ...uint32) (api.RepairRun, error) {
	f.asked = append(f.asked, partitions)
	if f.err != nil {
		return api.RepairRun{}, f.err
	}
	n := len(partitions)
	if n == 0 {
		n = 64
	}
	return api.RepairRun{ID: uint64(len(f.asked)), Partitions: n, Started: time.Unix(1_700_000_000, 0)}, nil
}

func (f *fakeAntiEntropy) AntiEntropyStatus() api.AntiEntropyStatus {
	return api.AntiEntropyStatus{TreeShape: "16^2", Partitions: 2, TreesBuilt: 1, KeysRepaired: 5, TombstonesReaped: 3,
		PartitionList: []api.PartitionAntiEntropy{{Partition: 1, TreeBuilt: true, Keys: 10}, {Partition: 7}}}
}

func repairServer(t *testing.T, ae api.AntiEntropy) *httptest.Server {
	t.Helper()
	h, err := api.NewHandler(api.Config{KV: fakeKV{n: 3}, Routes: api.RepairRoutes(ae, slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func repairCall(t *testing.T, srv *httptest.Server, method, path string) result {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: body: %v", method, path, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}
}

func TestRepairRoutes(t *testing.T) {
	ae := &fakeAntiEntropy{}
	srv := repairServer(t, ae)

	r := repairCall(t, srv, http.MethodPost, "/cluster/repair")
	m := r.json(t)
	if r.status != http.StatusAccepted || m["id"] != 1.0 || m["partitions"] != 64.0 || m["status"] != "repairing" || m["message"] == "" {
		t.Fatalf("POST /cluster/repair: %d %s", r.status, r.body)
	}
	r = repairCall(t, srv, http.MethodPost, "/cluster/repair?partition=17")
	if r.status != http.StatusAccepted || len(ae.asked) != 2 || len(ae.asked[1]) != 1 || ae.asked[1][0] != 17 {
		t.Fatalf("POST /cluster/repair?partition=17: %d %s, asked %v", r.status, r.body, ae.asked)
	}
	for _, bad := range []string{"x", "-1", "4294967296"} {
		repairCall(t, srv, http.MethodPost, "/cluster/repair?partition="+bad).wantError(t, http.StatusBadRequest, "bad_request")
	}

	r = repairCall(t, srv, http.MethodGet, "/cluster/antientropy")
	var st api.AntiEntropyStatus
	if err := json.Unmarshal(r.body, &st); err != nil || r.status != http.StatusOK {
		t.Fatalf("GET /cluster/antientropy: %d %s: %v", r.status, r.body, err)
	}
	if st.TreesBuilt != 1 || st.KeysRepaired != 5 || st.TombstonesReaped != 3 || len(st.PartitionList) != 2 || st.Repairs == nil {
		t.Errorf("status %+v", st)
	}
	r = repairCall(t, srv, http.MethodGet, "/cluster/antientropy?partitions=false")
	if _, listed := r.json(t)["partition_list"]; listed {
		t.Errorf("?partitions=false still lists partitions: %s", r.body)
	}
	repairCall(t, srv, http.MethodGet, "/cluster/repair").wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestRepairRefusals(t *testing.T) {
	ae := &fakeAntiEntropy{err: &api.Error{Status: http.StatusConflict, Code: "not_a_replica", Message: "ask n2"}}
	srv := repairServer(t, ae)
	if msg := repairCall(t, srv, http.MethodPost, "/cluster/repair?partition=3").wantError(t, http.StatusConflict, "not_a_replica"); msg != "ask n2" {
		t.Errorf("message %q", msg)
	}
	ae.err = errors.New("disk on fire")
	repairCall(t, srv, http.MethodPost, "/cluster/repair").wantError(t, http.StatusInternalServerError, "internal")
}
