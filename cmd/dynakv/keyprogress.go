package main

import (
	"sync"
	"time"

	"github.com/spf13/cobra"

	"dynakv/loadgen"
)

// keyProgress reports a backup's or a restore's progress on stderr at most
// once a second, as dynakv bench does: one line rewritten in place on a
// terminal, plain lines elsewhere.
type keyProgress struct {
	mu               sync.Mutex // restore batches report from their goroutines
	printer          *loadgen.ProgressPrinter
	phase            string
	start, last      time.Time
	lastKeys         int64
	printedSomething bool
}

func newKeyProgress(cmd *cobra.Command, phase string) *keyProgress {
	now := time.Now()
	errOut := cmd.ErrOrStderr()
	return &keyProgress{printer: loadgen.NewProgressPrinter(errOut, isTerminal(errOut)), phase: phase, start: now, last: now}
}

func (p *keyProgress) update(keys int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < time.Second || keys < p.lastKeys {
		return // too soon, or a batch that finished before the last one reported
	}
	rate := float64(keys-p.lastKeys) / now.Sub(p.last).Seconds()
	p.printer.Print(loadgen.Progress{Phase: p.phase, Elapsed: now.Sub(p.start), Ops: keys, Rate: rate, Unit: "keys"})
	p.last, p.lastKeys, p.printedSomething = now, keys, true
}

// done ends the progress line, if one was printed: a run that took under
// a second prints only its summary.
func (p *keyProgress) done(keys int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.printedSomething {
		return
	}
	elapsed := time.Since(p.start)
	p.printer.Print(loadgen.Progress{Phase: p.phase, Elapsed: elapsed, Ops: keys, Rate: float64(keys) / elapsed.Seconds(), Unit: "keys", Done: true})
}
