package loadgen

import (
	"bytes"
	"fmt"
	"io"
)

// WriteText writes the report for a person: the settings, each phase's
// throughput and errors, a table of latency percentiles (milliseconds) per
// operation, and the errors by kind with an example of each.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s; %d keys, %s", r.Workload, r.Keys, r.Dist)
	if r.ZipfTheta != 0 {
		fmt.Fprintf(&b, " (theta %g)", r.ZipfTheta)
	}
	fmt.Fprintf(&b, "; %d-byte values; %d workers on %d %s", r.ValueSize, r.Concurrency, r.Targets, plural(r.Targets, "node"))
	if r.Rate > 0 {
		fmt.Fprintf(&b, " paced to %g ops/s", r.Rate)
	}
	fmt.Fprintf(&b, "; seed %d\n\n", r.Seed)
	if p := r.Preload; p != nil {
		fmt.Fprintf(&b, "preload  %d writes in %.3fs: %.1f writes/s, %d %s", p.Ops, p.ElapsedS, p.OpsPerSec, p.Errors, plural(int(p.Errors), "error"))
		if p.ContextReads > 0 {
			fmt.Fprintf(&b, " (%d keys read first for their context)", p.ContextReads)
		}
		b.WriteByte('\n')
	}
	if p := r.Run; p != nil {
		fmt.Fprintf(&b, "run      %d ops in %.3fs: %.1f ops/s, %d %s", p.Ops, p.ElapsedS, p.OpsPerSec, p.Errors, plural(int(p.Errors), "error"))
		if p.ContextReads > 0 {
			fmt.Fprintf(&b, " (%d keys read before their first write, not counted)", p.ContextReads)
		}
		b.WriteByte('\n')
	}

	b.WriteString("\nop                ops      ops/s    p50 ms    p90 ms    p99 ms  p99.9 ms    max ms  not found  errors\n")
	row := func(name string, o *OpReport) {
		if o == nil {
			return
		}
		l := o.LatencyMs
		fmt.Fprintf(&b, "%-13s %7d %10.1f %9.3f %9.3f %9.3f %9.3f %9.3f %10d %7d\n",
			name, o.Ops, o.OpsPerSec, l.P50, l.P90, l.P99, l.P999, l.Max, o.NotFound, o.Errors)
	}
	if p := r.Run; p != nil {
		row("read", p.Read)
		row("write", p.Write)
	}
	if p := r.Preload; p != nil {
		row("preload write", p.Write)
	}

	for _, ph := range []struct {
		name string
		p    *PhaseReport
	}{{"preload", r.Preload}, {"run", r.Run}} {
		if ph.p == nil || len(ph.p.ErrorsByKind) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nerrors by kind (%s):\n", ph.name)
		for _, e := range ph.p.ErrorsByKind {
			fmt.Fprintf(&b, "%9d  %s, e.g. %s\n", e.Count, e.Kind, e.Example)
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// plural returns noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
