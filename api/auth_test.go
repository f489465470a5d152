package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dynakv/api"
	"dynakv/internal/singlenode"
	"dynakv/replica"
)

const testToken = "a-token-of-some-length"

// With Authorize set, every request but /healthz and /metrics needs an
// accepted bearer token; the refusal is a 401 that says what to send.
func TestRequestsNeedAnAcceptedToken(t *testing.T) {
	a := newTestAPI(t, singlenode.Options{}, func(c *api.Config) {
		c.Authorize = func(token string) bool { return token == testToken }
		c.Routes = append(c.Routes, api.KeysRoute(&fakeKeys{page: replica.KeyPage{Keys: [][]byte{}}}, time.Minute, nil))
	})
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{
		{http.MethodGet, "/kv/k", "", http.StatusUnauthorized},
		{http.MethodPut, "/kv/k", "Bearer wrong-token-of-some-length", http.StatusUnauthorized},
		{http.MethodGet, "/kv/k", "Basic " + testToken, http.StatusUnauthorized},
		{http.MethodGet, "/keys", "", http.StatusUnauthorized},
		{http.MethodGet, "/nowhere", "", http.StatusUnauthorized},
		{http.MethodPut, "/kv/k", "Bearer " + testToken, http.StatusNoContent},
		{http.MethodGet, "/kv/k", "bearer " + testToken, http.StatusOK},
		{http.MethodGet, "/keys", "Bearer " + testToken, http.StatusOK},
		{http.MethodGet, "/healthz", "", http.StatusOK},
		{http.MethodGet, "/metrics", "", http.StatusOK},
	} {
		var headers []string
		if tc.auth != "" {
			headers = []string{"Authorization", tc.auth}
		}
		r := a.do(tc.method, tc.path, strings.NewReader("v"), headers...)
		if r.status != tc.want {
			t.Errorf("%s %s with %q: %d, want %d; body %s", tc.method, tc.path, tc.auth, r.status, tc.want, r.body)
			continue
		}
		if tc.want == http.StatusUnauthorized {
			if msg := r.wantError(t, http.StatusUnauthorized, "unauthorized"); !strings.Contains(msg, "Authorization: Bearer") {
				t.Errorf("401 message %q does not say what to send", msg)
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("401 WWW-Authenticate %q, want Bearer", got)
			}
		}
	}
	// Refusals are counted under the route they were for.
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `dynakv_http_requests_total{code="401",method="GET",route="/kv/{key...}"}`) {
		t.Error("/metrics does not count the 401 of GET /kv/k under its route")
	}
}
