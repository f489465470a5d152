package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/api"
	"dynakv/internal/singlenode"
)

func TestMetricsCountRequestsByRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := newTestAPI(t, singlenode.Options{}, func(c *api.Config) { c.Registerer = reg })
	a.put("/kv/secret-key-name", "v", "")
	a.do(http.MethodGet, "/kv/secret-key-name", nil)
	a.do(http.MethodGet, "/kv/missing", nil)
	a.do(http.MethodGet, "/nope", nil)
	a.do("BREW", "/kv/k", nil)

	r := a.do(http.MethodGet, "/metrics", nil)
	if r.status != http.StatusOK {
		t.Fatalf("/metrics: status %d", r.status)
	}
	text := string(r.body)
	for _, want := range []string{
		`dynakv_http_requests_total{code="204",method="PUT",route="/kv/{key...}"} 1`,
		`dynakv_http_requests_total{code="200",method="GET",route="/kv/{key...}"} 1`,
		`dynakv_http_requests_total{code="404",method="GET",route="/kv/{key...}"} 1`,
		`dynakv_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`dynakv_http_requests_total{code="405",method="OTHER",route="unmatched"} 1`,
		`dynakv_http_request_duration_seconds_count{method="PUT",route="/kv/{key...}"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "secret-key-name") {
		t.Error("/metrics names a key")
	}
}
