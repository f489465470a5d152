package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTextReportShowsEveryFigure(t *testing.T) {
	cfg := baseConfig(newMemStore())
	cfg.Preload = true
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"workload a: 50% reads, 50% writes; 50 keys, zipfian (theta 0.99); 100-byte values; 8 workers on 1 node; seed 1",
		"preload  50 writes in ", "run      5000 ops in ", "0 errors",
		"p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
		"\nread ", "\nwrite ", "\npreload write ",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestJSONReportShape(t *testing.T) {
	rep, err := Run(context.Background(), baseConfig(newMemStore()))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	run := m["run"].(map[string]any)
	read := run["read"].(map[string]any)
	lat := read["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p99_9", "max", "mean"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ms lacks %s: %s", k, raw)
		}
	}
	if _, ok := m["preload"]; ok {
		t.Errorf("a run without preload reports one: %s", raw)
	}
	if run["errors_by_kind"] == nil || m["workload"].(map[string]any)["read_ratio"] != 0.5 {
		t.Errorf("unexpected shape: %s", raw)
	}
}

func TestProgressLines(t *testing.T) {
	p := Progress{Phase: "run", Elapsed: 3 * time.Second, Ops: 12034, Errors: 1, Duration: 20 * time.Second, Rate: 4011.4}
	if got := p.String(); got != "run 3s/20s: 12034 ops, 4011 ops/s, 1 error" {
		t.Errorf("String() = %q", got)
	}
	p = Progress{Phase: "preload", Elapsed: time.Second, Ops: 50, Total: 200, Rate: 50, Done: true}
	if got := p.String(); got != "preload 1s: 50/200 ops, 50 ops/s, 0 errors, done" {
		t.Errorf("String() = %q", got)
	}
	p = Progress{Phase: "backup", Elapsed: 2 * time.Second, Ops: 20000, Rate: 9876.5, Unit: "keys"}
	if got := p.String(); got != "backup 2s: 20000 keys, 9876 keys/s" {
		t.Errorf("String() = %q", got)
	}

	var plain bytes.Buffer
	pp := NewProgressPrinter(&plain, false)
	pp.Print(Progress{Phase: "run", Ops: 1000})
	pp.Print(Progress{Phase: "run", Ops: 10, Done: true})
	if got := plain.String(); got != "run 0s: 1000 ops, 0 ops/s, 0 errors\nrun 0s: 10 ops, 0 ops/s, 0 errors, done\n" {
		t.Errorf("plain lines %q", got)
	}

	var term bytes.Buffer
	pp = NewProgressPrinter(&term, true)
	pp.Print(Progress{Phase: "run", Ops: 1000})
	pp.Print(Progress{Phase: "run", Ops: 9})
	pp.Print(Progress{Phase: "run", Ops: 10, Done: true})
	want := "\rrun 0s: 1000 ops, 0 ops/s, 0 errors" +
		"\rrun 0s: 9 ops, 0 ops/s, 0 errors   " + // blanks what the longer line left
		"\rrun 0s: 10 ops, 0 ops/s, 0 errors, done\n"
	if got := term.String(); got != want {
		t.Errorf("in-place lines %q, want %q", got, want)
	}
}
