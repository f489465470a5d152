package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"dynakv/api"
	"dynakv/client"
	"dynakv/internal/singlenode"
	"dynakv/loadgen"
)

// benchJSON is the part of `bench -o json` the tests check.
type benchJSON struct {
	Endpoints []string `json:"endpoints"`
	Levels    struct {
		R, W string
	} `json:"levels"`
	loadgen.Report
}

func runBenchJSON(t *testing.T, args ...string) (benchJSON, string) {
	t.Helper()
	out, stderr := mustRun(t, "", append([]string{"bench", "-o", "json"}, args...)...)
	var rep benchJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench -o json printed %q: %v", out, err)
	}
	return rep, stderr
}

func TestBenchAgainstARealNodeMakesNoSiblings(t *testing.T) {
	e := startTestNode(t)
	rep, stderr := runBenchJSON(t, "-e", e, "--ops", "2000", "--concurrency", "8", "--preload", "--keys", "200", "-c", "all")

	if p := rep.Preload; p == nil || p.Ops != 200 || p.Errors != 0 || p.Write.Ops != 200 {
		t.Fatalf("preload %+v, want 200 writes and no errors", p)
	}
	r := rep.Run
	if r.Ops != 2000 || r.Errors != 0 || r.Read.Ops+r.Write.Ops != 2000 || len(r.ErrorsByKind) != 0 {
		t.Fatalf("run %+v, want 2000 operations and no errors", r)
	}
	if r.Read.Ops < 800 || r.Write.Ops < 800 || r.Read.NotFound != 0 {
		t.Errorf("workload a split 2000 ops into %d reads (%d not found) and %d writes", r.Read.Ops, r.Read.NotFound, r.Write.Ops)
	}
	if r.OpsPerSec <= 0 || r.Read.LatencyMs.P50 <= 0 || r.Write.LatencyMs.Max < r.Write.LatencyMs.P99 {
		t.Errorf("run figures %+v", r)
	}
	if rep.Keys != 200 || rep.Concurrency != 8 || rep.Workload.Name != "a" || rep.Dist != "zipfian" || rep.Levels.R != "all" || len(rep.Endpoints) != 1 {
		t.Errorf("settings %+v", rep)
	}
	if !strings.Contains(stderr, "run ") || !strings.Contains(stderr, "done") || strings.Contains(stderr, "\r") {
		t.Errorf("stderr %q, want plain progress lines (not a terminal)", stderr)
	}

	c, err := client.New(e)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		key := fmt.Sprintf("bench-%08d", i)
		obj, err := c.Get(context.Background(), key, client.Levels{})
		if err != nil || !obj.Found || len(obj.Siblings) != 1 || len(obj.Siblings[0].Value) != 1024 {
			t.Fatalf("%s: %+v, %v; want one sibling of 1024 bytes", key, obj, err)
		}
	}
}

func TestBenchTextReport(t *testing.T) {
	e := startTestNode(t)
	out, _ := mustRun(t, "", "bench", "-e", e, "--ops", "300", "--keys", "50", "--workload", "b", "--dist", "uniform", "--value-size", "10")
	for _, want := range []string{
		"endpoints: " + e + "; levels: the server's defaults",
		"workload b: 95% reads, 5% writes; 50 keys, uniform; 10-byte values; 16 workers on 1 node; seed 1",
		"run      300 ops in ", "0 errors",
		"p50 ms", "p99.9 ms", "max ms", "\nread ", "\nwrite ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchSpreadsOperationsOverEndpoints(t *testing.T) {
	n := singlenode.Start(t, singlenode.Options{})
	h, err := api.NewHandler(api.Config{KV: n.Coordinator})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	var counts [3]atomic.Int64
	for i := range counts {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/kv/") {
				counts[i].Add(1)
			}
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	rep, _ := runBenchJSON(t, "-e", urls[0]+","+urls[1], "-e", urls[2], "--ops", "600", "--workload", "c", "--concurrency", "4")
	if rep.Run.Ops != 600 || rep.Run.Read.NotFound != 600 || len(rep.Endpoints) != 3 {
		t.Fatalf("run %+v over %q, want 600 reads of missing keys on 3 endpoints", rep.Run, rep.Endpoints)
	}
	for i := range counts {
		// Each worker goes round its endpoints; how many operations each
		// worker did varies, so an endpoint may see a few more than a third.
		if got := counts[i].Load(); got < 190 || got > 210 {
			t.Errorf("endpoint %d served %d of 600 reads, want about 200", i, got)
		}
	}
}

func TestBenchCountsErrorsByKind(t *testing.T) {
	e := startTestNode(t)
	out, _, err := runCLI(t, "", "bench", "-e", e, "--ops", "100", "--r", "5", "--w", "5", "--keys", "10")
	if err == nil || !strings.Contains(err.Error(), "every operation failed") || !strings.Contains(err.Error(), "N=1") {
		t.Fatalf("err %v, want every operation failed with the server's message", err)
	}
	if !strings.Contains(out, "errors by kind (run):") || !strings.Contains(out, "100  HTTP 400 bad_request, e.g. ") {
		t.Errorf("report lacks the errors by kind:\n%s", out)
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	e := startTestNode(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--workload", "f"}, "--workload"},
		{[]string{"--workload", "b", "--read-ratio", "0.3"}, "both set"},
		{[]string{"--read-ratio", "1.5"}, "read ratio"},
		{[]string{"--dist", "normal"}, "normal"},
		{[]string{"--zipf-theta", "1"}, "skew"},
		{[]string{"--keys", "0"}, "keys"},
		{[]string{"--concurrency", "0"}, "concurrency"},
		{[]string{"--rate", "-5"}, "--rate"},
		{[]string{"-o", "yaml"}, "--output"},
		{[]string{"--ops", "0", "--duration", "0"}, "--ops 0 and --duration 0"},
		{[]string{"--timeout", "20s"}, "--op-timeout"},
		{[]string{"-c", "most"}, "--consistency"},
		{[]string{"-e", down.URL}, "not healthy"},
	} {
		args := append([]string{"bench", "-e", e, "--ops", "10"}, tc.args...)
		_, _, err := runCLI(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dynakv %s: err %v, want one mentioning %q", strings.Join(args, " "), err, tc.want)
		}
	}
}

func TestBenchErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("put: %w", &client.Error{Status: 503, Code: "unavailable"}), "HTTP 503 unavailable"},
		{&client.Error{Status: 502, Message: "bad gateway"}, "HTTP 502"},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), "client timeout"},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, "connection error (dial)"},
		{errors.New("something else"), "transport error"},
	} {
		if got := benchErrorKind(tc.err); got != tc.want {
			t.Errorf("benchErrorKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
