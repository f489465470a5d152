package hints

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"dynakv/versioning"
)

// hint is one stored hint as a worker handles it. The record is decoded when
// loaded (it holds the age), the state only when the hint is about to be
// sent.
type hint struct {
	seq     uint64
	size    int64 // encoded bytes, as counted in the queue's account
	rec     record
	state   *versioning.Set // decoded by dropReason(…, true)
	err     error           // why the record or its state does not decode
	decoded bool            // the state was decoded (or failed to)
}

func (h *hint) created() time.Time { return time.UnixMicro(h.rec.created) }

// dropReason says why h must be dropped rather than delivered ("" if it
// must not): its record or (with needState) its state does not decode, or
// it is older than window (0: no limit).
func (h *hint) dropReason(window time.Duration, now time.Time, needState bool) string {
	if h.err != nil {
		return reasonCorrupt
	}
	if window > 0 && now.Sub(h.created()) > window {
		return reasonExpired
	}
	if needState && !h.decoded {
		h.decoded = true
		if h.state, h.err = versioning.DecodeSet(h.rec.state); h.err != nil {
			return reasonCorrupt
		}
	}
	return ""
}

// errBatchFull stops a scan once a batch is full.
var errBatchFull = errors.New("batch full")

// load reads up to BatchSize of the target's hints with sequences above
// after, in order.
func (w *worker) load(after uint64) ([]hint, error) {
	batch := make([]hint, 0, w.m.cfg.BatchSize)
	err := w.m.cfg.Store.ScanHints(w.target, after, func(seq uint64, rec []byte) error {
		buf := bytes.Clone(rec) // rec aliases pebble's buffers; the state will alias buf
		h := hint{seq: seq, size: int64(len(buf))}
		h.rec, h.err = decodeRecord(buf)
		batch = append(batch, h)
		if len(batch) == cap(batch) {
			return errBatchFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errBatchFull) {
		return nil, err
	}
	return batch, nil
}

// mergeRun returns the end j of the run of deliverable hints batch[i:j] for
// the same key as batch[i] (which must be deliverable), and the merge of
// their states: one call delivers them all.
func mergeRun(batch []hint, i int, window time.Duration, now time.Time) (j int, state *versioning.Set) {
	first := &batch[i]
	state = first.state
	for j = i + 1; j < len(batch); j++ {
		h := &batch[j]
		if h.rec.partition != first.rec.partition || !bytes.Equal(h.rec.key, first.rec.key) ||
			h.dropReason(window, now, true) != "" {
			break
		}
		state = versioning.Merge(state, h.state)
	}
	return j, state
}

// outcome collects what a worker did with a batch, applied at once by
// settle: one storage delete and one account update per batch.
type outcome struct {
	seqs      []uint64
	bytes     int64
	delivered int
	dropped   map[string]int // by reason
}

func (o *outcome) ack(h *hint) {
	o.seqs = append(o.seqs, h.seq)
	o.bytes += h.size
	o.delivered++
}

func (w *worker) drop(o *outcome, h *hint, reason string) {
	if reason == reasonCorrupt {
		w.m.log.Error("dropping a hint that does not decode", "target", w.target, "seq", h.seq, "err", h.err)
	}
	o.seqs = append(o.seqs, h.seq)
	o.bytes += h.size
	if o.dropped == nil {
		o.dropped = make(map[string]int)
	}
	o.dropped[reason]++
}

// settle deletes the batch's delivered and dropped hints, then takes them
// out of the queue's account and counts them. Delivered hints are counted
// even if the delete fails: the target has them.
func (w *worker) settle(o *outcome) error {
	if o.delivered > 0 {
		w.m.met.delivered.WithLabelValues(w.target).Add(float64(o.delivered))
	}
	if len(o.seqs) == 0 {
		return nil
	}
	if err := w.m.cfg.Store.DeleteHints(w.target, o.seqs); err != nil {
		return fmt.Errorf("delete %d handled hints: %w", len(o.seqs), err)
	}
	w.m.settle(w.target, len(o.seqs), o.bytes)
	for reason, n := range o.dropped {
		w.m.met.dropped.WithLabelValues(w.target, reason).Add(float64(n))
		w.m.log.Warn("dropped hints instead of delivering them; anti-entropy will repair the target",
			"target", w.target, "reason", reason, "hints", n, "window", w.m.cfg.Window)
	}
	return nil
}

// expireHead drops the expired (or undecodable) hints at the head of the
// queue, after cursor, while the target is down, so a node that stays away
// frees the disk its hints hold once they could no longer be delivered
// anyway. Hints are stored in about the order they were created, so it stops
// at the first one still in the window. (A hint Stored late below cursor is
// left for delivery, which drops it if expired.) It returns the cursor past
// the hints it dropped.
func (w *worker) expireHead(cursor uint64) uint64 {
	if w.m.cfg.Window <= 0 {
		return cursor
	}
	for {
		batch, err := w.load(cursor)
		if err != nil {
			w.m.log.Warn("cannot read hint queue to expire old hints", "target", w.target, "err", err)
			return cursor
		}
		now := w.m.cfg.Now()
		var out outcome
		n := 0
		for ; n < len(batch); n++ {
			reason := batch[n].dropReason(w.m.cfg.Window, now, false)
			if reason == "" {
				break
			}
			w.drop(&out, &batch[n], reason)
		}
		if err := w.settle(&out); err != nil {
			w.m.log.Warn("cannot delete expired hints", "target", w.target, "err", err)
			return cursor
		}
		if n > 0 {
			cursor = batch[n-1].seq
		}
		if n < len(batch) || n == 0 {
			return cursor
		}
	}
}
