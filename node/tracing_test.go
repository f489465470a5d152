package node_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"dynakv/internal/testutil"
	"dynakv/node"
)

// One PUT yields one trace, with spans from every replica it touched: the
// HTTP request and the storage write on the coordinator, and the call and the
// storage merge on each other replica.
func TestOnePutIsOneTraceAcrossEveryReplica(t *testing.T) {
	recorders := map[string]*tracetest.SpanRecorder{}
	c := startClusterWith(t, 3, func(cfg *node.Config) {
		rec := tracetest.NewSpanRecorder()
		recorders[cfg.ID] = rec
		cfg.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	})
	req, _ := http.NewRequest(http.MethodPut, "http://"+c.nodes["n1"].HTTPAddr()+"/kv/traced?w=all", strings.NewReader("v"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}

	var root sdktrace.ReadOnlySpan
	for _, s := range recorders["n1"].Ended() {
		if strings.HasPrefix(s.Name(), "HTTP PUT") {
			root = s
		}
	}
	if root == nil {
		t.Fatal("the coordinator recorded no span for the PUT")
	}
	trace := root.SpanContext().TraceID()
	has := func(id, name string) bool {
		for _, s := range recorders[id].Ended() {
			if s.SpanContext().TraceID() == trace && strings.Contains(s.Name(), name) {
				return true
			}
		}
		return false
	}
	if !has("n1", "storage.write") {
		t.Error("no storage.write span on the coordinator in the PUT's trace")
	}
	for _, id := range []string{"n2", "n3"} {
		testutil.Eventually(t, 5*time.Second, id+"'s spans in the PUT's trace", func() bool {
			return has(id, "Replicate") && has(id, "storage.merge")
		})
	}
}
