package loadgen

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress is a phase's state while it runs, for a progress line.
type Progress struct {
	Phase    string        // "preload" or "run"
	Elapsed  time.Duration // since the phase started
	Ops      int64         // operations done so far, failed ones included
	Errors   int64
	Total    int64         // operations the phase will do; 0 if bounded by time
	Duration time.Duration // the phase's time limit; 0 if none
	Rate     float64       // operations per second since the previous report; overall when Done
	Done     bool          // the phase ended: its last report
	// Unit names what Ops counts ("keys"); empty: "ops". With a unit, a
	// count of no errors is left out of the line.
	Unit string
}

// String formats p as one line, such as
// "run 3s/20s: 12034 ops, 4011 ops/s, 0 errors".
func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", p.Phase, p.Elapsed.Round(time.Second))
	if p.Duration > 0 {
		fmt.Fprintf(&b, "/%s", p.Duration)
	}
	fmt.Fprintf(&b, ": %d", p.Ops)
	if p.Total > 0 {
		fmt.Fprintf(&b, "/%d", p.Total)
	}
	unit := p.Unit
	if unit == "" {
		unit = "ops"
	}
	fmt.Fprintf(&b, " %s, %.0f %s/s", unit, p.Rate, unit)
	if p.Unit == "" || p.Errors > 0 {
		fmt.Fprintf(&b, ", %d %s", p.Errors, plural(int(p.Errors), "error"))
	}
	if p.Done {
		b.WriteString(", done")
	}
	return b.String()
}

// ProgressPrinter writes progress lines: on a terminal one line rewritten
// in place (with a carriage return) and ended when its phase is done,
// elsewhere (a file, a CI log) one plain line per report.
type ProgressPrinter struct {
	w       io.Writer
	inPlace bool
	width   int // of the line on screen, to blank out what a shorter one leaves
}

// NewProgressPrinter returns a printer to w; inPlace when w is a terminal.
func NewProgressPrinter(w io.Writer, inPlace bool) *ProgressPrinter {
	return &ProgressPrinter{w: w, inPlace: inPlace}
}

// Print writes p. Progress is best effort: a failed write is ignored, the
// report at the end is what counts.
func (pp *ProgressPrinter) Print(p Progress) {
	line := p.String()
	if !pp.inPlace {
		_, _ = fmt.Fprintln(pp.w, line)
		return
	}
	pad := strings.Repeat(" ", max(pp.width-len(line), 0))
	end := ""
	pp.width = len(line)
	if p.Done {
		end, pp.width = "\n", 0
	}
	_, _ = fmt.Fprintf(pp.w, "\r%s%s%s", line, pad, end)
}
