package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"dynakv/api"
	"dynakv/internal/singlenode"
)

// The benchmarks share one client setup and one value size, so that
// BenchmarkHTTPPut and BenchmarkHTTPGet read as ratios of
// BenchmarkNullHandler: the cost of the API plus the data path over the cost
// of HTTP on loopback alone.

const benchValueBytes = 1 << 10

// benchServer serves h on loopback with the API's server settings and
// returns its URL and a keep-alive client sized for b.RunParallel.
func benchServer(b *testing.B, h http.Handler) (string, *http.Client) {
	b.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config = api.NewServer("", h, nil)
	srv.Start()
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr}
}

func benchAPI(b *testing.B) (string, *http.Client) {
	b.Helper()
	n := singlenode.Start(b, singlenode.Options{Sync: true})
	h, err := api.NewHandler(api.Config{KV: n.Coordinator})
	if err != nil {
		b.Fatal(err)
	}
	return benchServer(b, h)
}

// send runs one request and drains the answer so the connection is reused.
func send(b *testing.B, c *http.Client, method, url string, body []byte, want int) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%s %s: status %d, want %d", method, url, resp.StatusCode, want)
	}
}

func benchPuts(b *testing.B, base string, c *http.Client) {
	value := bytes.Repeat([]byte("v"), benchValueBytes)
	var seq atomic.Int64
	b.SetBytes(benchValueBytes)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			send(b, c, http.MethodPut, fmt.Sprintf("%s/kv/bench/%d", base, seq.Add(1)), value, http.StatusNoContent)
		}
	})
}

func BenchmarkNullHandler(b *testing.B) {
	base, c := benchServer(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	benchPuts(b, base, c)
}

func BenchmarkHTTPPut(b *testing.B) {
	base, c := benchAPI(b)
	benchPuts(b, base, c)
}

func BenchmarkHTTPGet(b *testing.B) {
	base, c := benchAPI(b)
	const keys = 1024
	value := bytes.Repeat([]byte("v"), benchValueBytes)
	for i := range keys {
		send(b, c, http.MethodPut, fmt.Sprintf("%s/kv/bench/%d", base, i), value, http.StatusNoContent)
	}
	var seq atomic.Int64
	b.SetBytes(benchValueBytes)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			send(b, c, http.MethodGet, fmt.Sprintf("%s/kv/bench/%d", base, seq.Add(1)%keys), nil, http.StatusOK)
		}
	})
}

// BenchmarkHandlerGet calls the handler directly, without a socket or a
// client, so its allocations per request are the API's own and the data
// path's.
func BenchmarkHandlerGet(b *testing.B) {
	n := singlenode.Start(b, singlenode.Options{Sync: true})
	h, err := api.NewHandler(api.Config{KV: n.Coordinator})
	if err != nil {
		b.Fatal(err)
	}
	put := httptest.NewRequest(http.MethodPut, "/kv/bench", bytes.NewReader(bytes.Repeat([]byte("v"), benchValueBytes)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, put)
	if w.Code != http.StatusNoContent {
		b.Fatalf("PUT: status %d", w.Code)
	}
	get := httptest.NewRequest(http.MethodGet, "/kv/bench", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, get)
		if w.Code != http.StatusOK {
			b.Fatalf("GET: status %d", w.Code)
		}
	}
}
