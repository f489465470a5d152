package node_test

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"dynakv/gossip"
	"dynakv/node"
)

func TestProfilerIsServedOnlyWhenAskedFor(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := node.DefaultConfig()
		cfg.ID = "p1"
		cfg.DataDir = filepath.Join(t.TempDir(), "p1")
		cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		cfg.GossipTuning = gossip.FastTimings
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfg.Pprof = on
		n, err := node.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + n.HTTPAddr() + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Fatalf("--pprof=%v: GET /debug/pprof/ = %d, want %d", on, resp.StatusCode, want)
		}
		n.Close()
	}
}
