package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// worker runs operations one after another. Its random source and its
// statistics are its own, so the hot path takes no shared lock (but the
// per-key write lock of contexts).
type worker struct {
	id    int
	run   *runner
	rng   *rand.Rand
	sent  int // operations sent, for the round robin over targets
	stats *phaseStats
}

// loop runs p's operations until p or ctx ends.
func (w *worker) loop(ctx context.Context, p phase) {
	for ctx.Err() == nil {
		if p.pace != nil && p.pace(ctx) != nil {
			return
		}
		kind, key, ok := p.next(w)
		if !ok {
			return
		}
		if kind == opRead {
			w.read(ctx, key)
		} else {
			w.write(ctx, key)
		}
	}
}

// target picks the node of the next operation: round robin, each worker
// starting at its own offset.
func (w *worker) target() Target {
	ts := w.run.cfg.Targets
	t := ts[(w.id+w.sent)%len(ts)]
	w.sent++
	return t
}

// opContext bounds one request by the client-side timeout.
func (w *worker) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if w.run.cfg.OpTimeout > 0 {
		return context.WithTimeout(ctx, w.run.cfg.OpTimeout)
	}
	return ctx, func() {}
}

// read reads key i and remembers its causal token.
func (w *worker) read(ctx context.Context, i int) {
	gen := w.run.memory.beforeRead(i)
	octx, cancel := w.opContext(ctx)
	start := time.Now()
	found, causal, err := w.target().Read(octx, w.run.names[i])
	took := time.Since(start)
	cancel()
	if err != nil {
		w.fail(ctx, opRead, fmt.Errorf("read %s: %w", w.run.names[i], err))
		return
	}
	w.run.memory.afterRead(i, gen, causal)
	w.stats.succeed(opRead, took, !found)
}

// write writes a new value to key i, carrying the token of the key's last
// read or write. A key this run has not seen yet is read first (a context
// read, not timed and not counted as an operation) so that even a store
// holding keys from an earlier run gets no sibling.
func (w *worker) write(ctx context.Context, i int) {
	key := w.run.names[i]
	causal, known := w.run.memory.lockWrite(i)
	ok := false
	defer func() { w.run.memory.unlockWrite(i, causal, ok) }()
	if !known {
		octx, cancel := w.opContext(ctx)
		_, c, err := w.target().Read(octx, key)
		cancel()
		w.stats.contextReads++
		if err != nil {
			w.fail(ctx, opWrite, fmt.Errorf("read %s before writing it: %w", key, err))
			return
		}
		causal = c
	}
	size := w.run.cfg.ValueSize
	off := w.rng.IntN(size + 1)
	octx, cancel := w.opContext(ctx)
	start := time.Now()
	next, err := w.target().Write(octx, key, w.run.values[off:off+size], causal)
	took := time.Since(start)
	cancel()
	if err != nil {
		causal = ""
		w.fail(ctx, opWrite, fmt.Errorf("write %s: %w", key, err))
		return
	}
	causal, ok = next, true
	w.stats.succeed(opWrite, took, false)
}

// fail counts a failed operation by kind, unless it failed because the run
// was interrupted: then it is dropped.
func (w *worker) fail(ctx context.Context, kind opKind, err error) {
	if ctx.Err() != nil {
		return
	}
	w.stats.fail(kind, w.run.cfg.ErrorKind(err), err)
}
