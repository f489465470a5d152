package hints

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"dynakv/versioning"
)

// worker delivers one target's hints, in sequence order. The Manager starts
// it when the target has hints and Start has been called; it retires when a
// pass finds the queue empty, or when Close cancels the Manager's context.
type worker struct {
	m        *Manager
	target   string
	start    uint64        // resume after this sequence (the queue's cursor)
	more     chan struct{} // Store added hints (capacity 1)
	revive   chan struct{} // TargetAlive or Notify (capacity 1)
	limit    *limiter
	back     backoff
	failures int // consecutive failures, so a streak is logged once
}

func newWorker(m *Manager, target string, start uint64, rng *rand.Rand) *worker {
	return &worker{
		m:      m,
		target: target,
		start:  start,
		more:   make(chan struct{}, 1),
		revive: make(chan struct{}, 1),
		limit:  newLimiter(m.cfg.DeliveryRate, m.cfg.DeliveryBurst, m.cfg.Now),
		back:   backoff{min: m.cfg.BackoffMin, max: m.cfg.BackoffMax, rng: rng},
	}
}

func (w *worker) run() {
	defer w.m.wg.Done()
	if err := w.deliver(w.m.ctx); err != nil {
		// Only Close cancels the context.
		w.m.exit(w)
	}
}

// deliver hands the queue over in sequence order until the Manager says it
// is empty (see Manager.idle), then returns nil. It waits while the target
// is down or failing, and returns ctx's error once ctx is done, leaving
// every unacked hint stored.
func (w *worker) deliver(ctx context.Context) error {
	cursor := w.start // every hint at or below it was handled, see queue
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !w.m.cfg.Liveness.Alive(w.target) && !w.departed() {
			cursor = w.expireHead(cursor)
			if err := w.wait(ctx, w.m.cfg.PollInterval); err != nil {
				return err
			}
			continue
		}
		batch, err := w.load(cursor)
		if err != nil {
			if err := w.failed(ctx, fmt.Errorf("read hint queue: %w", err)); err != nil {
				return err
			}
			continue
		}
		if len(batch) == 0 {
			next, done := w.m.idle(w, cursor)
			if done {
				return nil
			}
			cursor = next
			continue
		}
		handled, err := w.deliverBatch(ctx, batch)
		cursor = max(cursor, handled)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := w.failed(ctx, err); err != nil {
				return err
			}
			continue
		}
		w.recovered()
	}
}

// deliverBatch sends batch's hints in order, merging consecutive hints for
// one key into one call, and drops expired or corrupt ones. It stops at the
// first failed call; the hints acked or dropped before it are deleted. It
// returns the sequence of the last hint handled (0: none).
func (w *worker) deliverBatch(ctx context.Context, batch []hint) (handled uint64, err error) {
	var out outcome
	now := w.m.cfg.Now()
	for i := 0; i < len(batch); {
		h := &batch[i]
		if reason := h.dropReason(w.m.cfg.Window, now, true); reason != "" {
			w.drop(&out, h, reason)
			handled = h.seq
			i++
			continue
		}
		j, state := mergeRun(batch, i, w.m.cfg.Window, now)
		if err = w.send(ctx, h, state); err != nil {
			break
		}
		acked := w.m.cfg.Now()
		for k := i; k < j; k++ {
			out.ack(&batch[k])
			w.m.met.delay.Observe(acked.Sub(batch[k].created()).Seconds())
		}
		handled = batch[j-1].seq
		i = j
	}
	if serr := w.settle(&out); serr != nil {
		// The handled hints are still stored: leave the cursor before
		// them, so they are sent again (harmless) and deleted next time.
		return 0, errors.Join(err, serr)
	}
	return handled, err
}

// send waits for a token, then delivers state, the merge of the run of
// hints starting at h, to the target.
func (w *worker) send(ctx context.Context, h *hint, state *versioning.Set) error {
	for {
		d := w.limit.take()
		if d == 0 {
			break
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, w.m.cfg.ReplicateTimeout)
	defer cancel()
	if w.departed() {
		return w.reroute(cctx, h, state)
	}
	if err := w.m.cfg.Transport.Replicate(cctx, w.target, h.rec.partition, h.rec.key, state); err != nil {
		return fmt.Errorf("deliver hint %d (partition %d, key %q): %w", h.seq, h.rec.partition, h.rec.key, err)
	}
	return nil
}

// departed reports whether the target's hints go to its keys' owners.
func (w *worker) departed() bool {
	return w.m.cfg.Reroute != nil && w.m.cfg.Reroute.Departed(w.target)
}

// reroute delivers a departed target's hint to every alive owner of its
// partition; it fails unless all of them, and at least one, acked.
func (w *worker) reroute(ctx context.Context, h *hint, state *versioning.Set) error {
	acked := 0
	for _, owner := range w.m.cfg.Reroute.Owners(h.rec.partition) {
		if !w.m.cfg.Liveness.Alive(owner) {
			continue
		}
		if err := w.m.cfg.Transport.Replicate(ctx, owner, h.rec.partition, h.rec.key, state); err != nil {
			return fmt.Errorf("deliver hint %d (partition %d, key %q) for departed %s to %s: %w", h.seq, h.rec.partition, h.rec.key, w.target, owner, err)
		}
		acked++
	}
	if acked == 0 {
		return fmt.Errorf("deliver hint %d (partition %d, key %q) for departed %s: no owner of the partition is alive", h.seq, h.rec.partition, h.rec.key, w.target)
	}
	w.m.met.rerouted.Inc()
	return nil
}

// failed counts and logs a failed delivery (or queue read), then backs off.
// The first failure of a streak is a warning; the rest are debug lines.
func (w *worker) failed(ctx context.Context, err error) error {
	w.m.met.failures.WithLabelValues(w.target).Inc()
	w.failures++
	d := w.back.next()
	if w.failures == 1 {
		w.m.log.Warn("hint delivery failed; retrying with backoff", "target", w.target, "err", err, "retry_in", d)
	} else {
		w.m.log.Debug("hint delivery failed again", "target", w.target, "err", err, "failures", w.failures, "retry_in", d)
	}
	return w.wait(ctx, d)
}

// recovered ends a failure streak after a successful batch.
func (w *worker) recovered() {
	if w.failures > 0 {
		w.m.log.Info("hint delivery resumed", "target", w.target, "after_failures", w.failures)
		w.failures = 0
	}
	w.back.reset()
}

// wait blocks for d, or until TargetAlive or Notify (which also resets the
// backoff), or until ctx is done (returning its error).
func (w *worker) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.revive:
		w.back.reset()
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// sleep blocks for d or until ctx is done (returning its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
