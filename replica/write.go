package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"

	"dynakv/versioning"
)

// Put applies a client write or delete and returns the key's new state once
// w replicas (pw of them primaries) stored it. The write is coordinated by a
// primary of the key: on any other node it is forwarded to one.
//
// Sloppy quorum: a primary that is down is replaced by the next live
// fallback of the preference list, which stores the write durably as a hint
// for that primary and delivers it when the primary is back (hinted
// handoff). A fallback's ack counts toward w, never toward pw.
func (c *Coordinator) Put(ctx context.Context, key []byte, w Write, opts WriteOptions) (*versioning.Set, error) {
	start := time.Now()
	state, err := c.put(ctx, key, w, opts, true)
	op := "write"
	if w.Delete {
		op = "delete"
	}
	c.cfg.Metrics.request(op, needed(opts.W, opts.PW), start, err)
	return state, err
}

// CoordinateForwarded coordinates a write another node forwarded here. It is
// never forwarded again, so nodes whose rings disagree for a moment cannot
// pass a write back and forth: this node coordinates it even if its own ring
// does not make it a primary (it then keeps a copy, as every coordinator must:
// the next write it coordinates for the key builds on it).
func (c *Coordinator) CoordinateForwarded(ctx context.Context, key []byte, w Write, opts WriteOptions) (*versioning.Set, error) {
	return c.put(ctx, key, w, opts, false)
}

func (c *Coordinator) put(ctx context.Context, key []byte, w Write, opts WriteOptions, mayForward bool) (*versioning.Set, error) {
	if err := c.cfg.Local.Err(); err != nil {
		return nil, err // no data through a node whose disk failed (see get)
	}
	partition, primaries, fallbacks := c.cfg.Placement.Locate(key)
	targets := c.writeTargets(primaries, fallbacks)
	need := needed(opts.W, opts.PW)
	livePrimaries, err := writeAvailable("write", targets, need, opts.PW)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.timeoutFor(ctx, opts.Timeout, targets)
	defer cancel()

	self := slices.IndexFunc(targets, func(t target) bool { return t.node == c.cfg.Self })
	selfIsPrimary := self >= 0 && targets[self].primary
	if !selfIsPrimary && mayForward && livePrimaries > 0 {
		c.cfg.Metrics.forward()
		return c.forward(ctx, targets[:livePrimaries], key, w, opts)
	}

	// This node coordinates: a live primary, or any node when no primary is
	// reachable (a partitioned minority still takes w=one through fallbacks).
	// Its own copy comes first, since the dot is minted against it; it is
	// synced while the other replicas store the write.
	_, span := c.tracer.Start(ctx, "storage.write")
	state, durable, err := c.cfg.Local.CoordinateNoSyncWait(partition, key, w)
	if err != nil {
		span.End()
		return nil, err
	}
	durable = endSpanAfter(span, durable)
	// A down primary no fallback stands in for gets a hint kept here, as
	// Cassandra's coordinators do: it does not count toward w, but the
	// primary gets the write when it is back, with no read needed.
	for _, p := range unhinted(primaries, targets) {
		c.hintHere(ctx, p, partition, key, state)
	}
	// The other targets get the write first; this node's own sync runs
	// meanwhile, and its ack (or hint) is counted before any other reply.
	others := targets
	if self >= 0 {
		others = slices.Delete(slices.Clone(targets), self, self+1)
	}
	replies := c.fanOut(ctx, "write", others, func(ctx context.Context, t target) (*versioning.Set, error) {
		if t.primary {
			return nil, c.cfg.Transport.Replicate(ctx, t.node, partition, key, state)
		}
		return nil, c.cfg.Transport.StoreHint(ctx, t.node, t.hintFor, partition, key, state)
	})
	t := newTally(need, opts.PW, targets, 0)
	err = durable()
	switch {
	case self >= 0:
		r := reply{target: targets[self], err: err}
		if err == nil && !r.primary {
			r.err = c.storeHint(r.hintFor, partition, key, state)
		}
		t.add(r)
	case err != nil:
		// Not a target, so not an ack; but the next write this node
		// coordinates builds on this copy, which must not be lost.
		c.drain(replies, len(others), func(reply) {})
		return nil, err
	}
	if err := c.awaitAcks(ctx, "write", &t, replies, partition, key, state); err != nil {
		return nil, err
	}
	return state, nil
}

// writeAvailable checks, before anything is written, that targets can meet
// a write's levels, and returns how many of them are primaries.
func writeAvailable(op string, targets []target, need, needPrimaries int) (livePrimaries int, err error) {
	for _, t := range targets {
		if t.primary {
			livePrimaries++
		}
	}
	if len(targets) < need || livePrimaries < needPrimaries {
		return livePrimaries, &UnavailableError{Op: op, Needed: need, Alive: len(targets), NeededPrimaries: needPrimaries, AlivePrimaries: livePrimaries}
	}
	return livePrimaries, nil
}

// awaitAcks counts replies of a write of state into t until its levels are
// met, they cannot be, or ctx ends. Every reply, before and after the
// client has its answer, is checked for a failure, whose primary then gets
// a hint kept here.
func (c *Coordinator) awaitAcks(ctx context.Context, op string, t *tally, replies <-chan reply, partition uint32, key []byte, state *versioning.Set) error {
	failed := func(r reply) {
		if r.err == nil {
			return
		}
		c.cfg.Logger.DebugContext(ctx, op+" to a replica failed", "key", string(key), "node", r.node, "hint_for", r.hintFor, "err", r.err)
		if r.primary {
			c.hintHere(ctx, r.node, partition, key, state)
		} else {
			c.hintHere(ctx, r.hintFor, partition, key, state)
		}
	}
	for !t.met() {
		if t.hopeless() {
			c.drain(replies, t.outstanding, failed)
			return t.failure(op, nil)
		}
		select {
		case r := <-replies:
			t.add(r)
			failed(r)
		case <-ctx.Done():
			c.drain(replies, t.outstanding, failed)
			return t.failure(op, ctx.Err())
		}
	}
	c.drain(replies, t.outstanding, failed)
	return nil
}

// drain hands the replies still to come to fn, on one of the coordinator's
// call workers. fanOut's calls end by their deadline, so it ends too.
func (c *Coordinator) drain(replies <-chan reply, outstanding int, fn func(reply)) {
	if outstanding == 0 {
		return
	}
	if !c.track(1) {
		return // closing: the replies are dropped, their calls end by the deadline
	}
	c.calls.Go(func() {
		defer c.wg.Done()
		for range outstanding {
			fn(<-replies)
		}
	})
}

// hintHere keeps a hint for primary on this node, when this node keeps
// hints at all. It is best effort: the write's levels never depend on it.
func (c *Coordinator) hintHere(ctx context.Context, primary string, partition uint32, key []byte, state *versioning.Set) {
	if c.cfg.Hints == nil || primary == c.cfg.Self {
		return
	}
	if err := c.storeHint(primary, partition, key, state); err != nil {
		c.cfg.Logger.WarnContext(ctx, "could not keep a hint for an unreachable primary; anti-entropy will repair it", "key", string(key), "primary", primary, "err", err)
	}
}

// unhinted returns the primaries that are not among targets, neither as
// live primaries nor through a fallback standing in for them.
func unhinted(primaries []string, targets []target) []string {
	var out []string
	for _, p := range primaries {
		if !slices.ContainsFunc(targets, func(t target) bool { return t.node == p && t.primary || t.hintFor == p }) {
			out = append(out, p)
		}
	}
	return out
}

// writeTargets is the sloppy preference list of a write: the live
// primaries, in order, then for each down primary the next live fallback,
// which keeps a hint for it.
func (c *Coordinator) writeTargets(primaries, fallbacks []string) []target {
	out := make([]target, 0, len(primaries))
	var down []string
	for _, p := range primaries {
		if c.isAlive(p) {
			out = append(out, target{node: p, primary: true})
		} else {
			down = append(down, p)
		}
	}
	next := 0
	for _, p := range down {
		for next < len(fallbacks) && !c.canHoldHints(fallbacks[next]) {
			next++
		}
		if next == len(fallbacks) {
			break
		}
		out = append(out, target{node: fallbacks[next], hintFor: p})
		next++
	}
	return out
}

// canHoldHints reports whether node can stand in for a down primary.
func (c *Coordinator) canHoldHints(node string) bool {
	if node == c.cfg.Self {
		return c.cfg.Hints != nil
	}
	return c.cfg.Transport != nil && c.isAlive(node)
}

func (c *Coordinator) storeHint(target string, partition uint32, key []byte, state *versioning.Set) error {
	if err := c.cfg.Hints.Store(target, partition, key, state); err != nil {
		return fmt.Errorf("store hint of %q for %s: %w", key, target, err)
	}
	return nil
}

// forward hands a write to a primary of the key, trying the live primaries in
// preference order until one answers. The primary gets a little less time
// than this node has left, so that its own answer (a TimeoutError naming the
// replicas that acked) arrives before this node's deadline.
func (c *Coordinator) forward(ctx context.Context, primaries []target, key []byte, w Write, opts WriteOptions) (*versioning.Set, error) {
	if c.cfg.Transport == nil {
		return nil, fmt.Errorf("forward write of %q: no transport to reach %v", key, primaries)
	}
	need := needed(opts.W, opts.PW)
	var errs []error
	for _, p := range primaries {
		deadline, _ := ctx.Deadline()
		fwd := opts
		fwd.Timeout = time.Until(deadline) * 9 / 10
		if fwd.Timeout <= 0 {
			break
		}
		state, err := c.cfg.Transport.Coordinate(ctx, p.node, key, w, fwd)
		if err == nil || !IsUnreachable(err) {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("forward write of %q to %s: %w", key, p.node, &TimeoutError{Op: "write", Needed: need})
			}
			return state, err
		}
		errs = append(errs, fmt.Errorf("forward write of %q to %s: %w", key, p.node, err))
	}
	if len(errs) == len(primaries) {
		// Gossip believed them alive, but none was reached: as unavailable
		// as if gossip had known, and nothing was written.
		return nil, fmt.Errorf("%w (%w)", &UnavailableError{Op: "write", Needed: need, Alive: 0, NeededPrimaries: opts.PW}, errors.Join(errs...))
	}
	return nil, &TimeoutError{Op: "write", Needed: need}
}

// endSpanAfter returns wait, ending span once it returned.
func endSpanAfter(span trace.Span, wait func() error) func() error {
	return func() error {
		defer span.End()
		return wait()
	}
}
