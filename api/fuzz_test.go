package api_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"dynakv/api"
)

// FuzzParseRequest drives the request parsing path (key decoding, levels,
// timeout, context, Accept) with arbitrary input: it must never panic and
// never answer 5xx, whatever the client sends.
func FuzzParseRequest(f *testing.F) {
	f.Add(uint8(0), "k", "", "", "")
	f.Add(uint8(1), "a%2Fb//c/../.", "r=one&w=all&pr=0&pw=quorum&timeout=2s", "AQEEbjEuMQEAAAAA", "application/json")
	f.Add(uint8(2), "%FF%FE", "r=4&w=-1&timeout=-1s", "!!!", "*/*")
	f.Add(uint8(1), strings.Repeat("x", 1025), "r=%zz;w=1", "AQ", "application/json;q=0")
	f.Add(uint8(0), "", "timeout=9999999999999h&pr=99999999999999999999", "=", "")

	var logs bytes.Buffer
	h, err := api.NewHandler(api.Config{KV: fakeKV{n: 3}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		f.Fatal(err)
	}
	methods := []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodPost}
	f.Fuzz(func(t *testing.T, m uint8, path, query, xctx, accept string) {
		target := "/kv/" + path
		if query != "" {
			target += "?" + query
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Skip("net/http rejects this request line before any handler runs")
		}
		if strings.ContainsAny(xctx+accept, "\r\n\x00") {
			t.Skip("net/http rejects these header values before any handler runs")
		}
		req := httptest.NewRequest(methods[int(m)%len(methods)], "/", strings.NewReader("value"))
		req.URL, req.RequestURI = u, target
		req.Header.Set("X-Context", xctx)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d, body %s; logs:\n%s", req.Method, target, rec.Code, rec.Body, logs.String())
		}
	})
}
