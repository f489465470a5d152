package node_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"dynakv/internal/testutil"
	"dynakv/node"
)

// A client's X-Request-ID is echoed, and the log lines of every node the
// request touched carry it: the coordinator's and each replica's.
func TestRequestIDReachesEveryReplicasLog(t *testing.T) {
	logs := map[string]*testutil.SyncBuffer{}
	c := startClusterWith(t, 3, func(cfg *node.Config) {
		logs[cfg.ID] = &testutil.SyncBuffer{}
		cfg.Logger = slog.New(slog.NewJSONHandler(logs[cfg.ID], &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut,
		"http://"+c.nodes["n1"].HTTPAddr()+"/kv/traced?w=all", strings.NewReader("v"))
	req.Header.Set("X-Request-ID", "trace-me-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-Request-ID") != "trace-me-42" {
		t.Fatalf("PUT: %d, X-Request-ID %q", resp.StatusCode, resp.Header.Get("X-Request-ID"))
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		testutil.Eventually(t, 5*time.Second, id+"'s log to carry the request ID", func() bool {
			return strings.Contains(logs[id].String(), `"request_id":"trace-me-42"`)
		})
	}
	// Without one, the node makes one up and returns it.
	resp, err = http.Get("http://" + c.nodes["n2"].HTTPAddr() + "/kv/traced")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-ID"); len(got) != 16 {
		t.Fatalf("generated X-Request-ID = %q", got)
	}
}
