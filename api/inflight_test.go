package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dynakv/api"
	"dynakv/internal/singlenode"
	"dynakv/internal/testutil"
	"dynakv/replica"
	"dynakv/versioning"
)

// gatedKV holds every write of a value until the gate closes, so the
// bodies of the PUTs that reached it stay reserved; deletes pass.
type gatedKV struct {
	api.KV
	gate chan struct{}
	held atomic.Int32 // PUTs that reached it
}

func (g *gatedKV) Put(ctx context.Context, key []byte, w replica.Write, opts replica.WriteOptions) (*versioning.Set, error) {
	if !w.Delete {
		g.held.Add(1)
		if opts.Timeout > 0 { // as the coordinator would
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
		}
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.KV.Put(ctx, key, w, opts)
}

// gauge reads one of the API's gauges from /metrics.
func (a *testAPI) gauge(name string) string {
	a.t.Helper()
	for line := range strings.SplitSeq(string(a.do(http.MethodGet, "/metrics", nil).body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	a.t.Fatalf("/metrics has no %s", name)
	return ""
}

// A burst of uploads past the in-flight budget waits and then gets 503
// overloaded with nothing written, instead of the node holding every body
// in memory at once; the uploads already taken complete, and one that waits
// long enough gets in when they release their bytes.
func TestPutsPastTheInflightBudgetWaitThenGet503(t *testing.T) {
	var kv *gatedKV
	a := newTestAPI(t, singlenode.Options{}, func(c *api.Config) {
		kv = &gatedKV{KV: c.KV, gate: make(chan struct{})}
		c.KV = kv
		c.MaxValueBytes = 1 << 10
		c.MaxInflightBytes = 2 << 10
	})
	value := strings.Repeat("x", 1<<10)
	var (
		wg   sync.WaitGroup
		open sync.Once
	)
	openGate := func() { open.Do(func() { close(kv.gate) }) }
	// Registered before the PUTs start, so it runs before the server's
	// Close waits for them, also when the test fails midway.
	t.Cleanup(func() { openGate(); wg.Wait() })
	results := make([]result, 3)
	put := func(i int, query string) {
		wg.Go(func() {
			results[i] = a.do(http.MethodPut, fmt.Sprintf("/kv/k%d?%s", i, query), strings.NewReader(value), "Content-Type", "text/plain")
		})
	}
	put(0, "")
	put(1, "")
	testutil.Eventually(t, 10*time.Second, "two PUTs to hold the whole budget", func() bool {
		return kv.held.Load() == 2 && a.gauge("dynakv_http_inflight_body_bytes") == "2048"
	})

	r := a.do(http.MethodPut, "/kv/late?timeout=50ms", strings.NewReader(value), "Content-Type", "text/plain")
	if msg := r.wantError(t, http.StatusServiceUnavailable, "overloaded"); !strings.Contains(msg, "--max-inflight-bytes") || !strings.Contains(msg, "nothing was written") {
		t.Errorf("overloaded message %q does not name the flag and say nothing was written", msg)
	}
	// A DELETE carries no body and is never held back.
	if r := a.do(http.MethodDelete, "/kv/k9", nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE while the budget is spent: status %d, want 204; body %s", r.status, r.body)
	}

	put(2, "timeout=30s")
	testutil.Eventually(t, 10*time.Second, "the third PUT to wait for room", func() bool {
		return a.gauge("dynakv_http_inflight_waiting_requests") == "1"
	})
	if n := kv.held.Load(); n != 2 {
		t.Fatalf("%d PUTs reached the store while the budget was spent, want 2", n)
	}
	openGate()
	wg.Wait()
	for i, r := range results {
		if r.status != http.StatusNoContent {
			t.Errorf("PUT k%d: status %d, want 204; body %s", i, r.status, r.body)
		}
		a.getOne(fmt.Sprintf("/kv/k%d", i), value)
	}
	if r := a.do(http.MethodGet, "/kv/late", nil); r.status != http.StatusNotFound {
		t.Errorf("the overloaded PUT's key: status %d, want 404", r.status)
	}
	if got := a.gauge("dynakv_http_inflight_body_bytes"); got != "0" {
		t.Errorf("in-flight bytes after every PUT ended: %s, want 0", got)
	}
}

func TestInflightBudgetBelowTheValueLimitIsRefused(t *testing.T) {
	_, err := api.NewHandler(api.Config{KV: fakeKV{n: 1}, MaxValueBytes: 2 << 10, MaxInflightBytes: 1 << 10})
	if err == nil || !strings.Contains(err.Error(), "could never be taken") {
		t.Fatalf("NewHandler with a budget below the value limit: %v, want an error saying why", err)
	}
}
