package replica

import (
	"context"
	"sync"
	"time"

	"dynakv/versioning"
)

// Get reads key from its primaries and returns the merged state once r
// replicas (pr of them primaries) answered. A nil state means no replica that
// answered has the key.
//
// Read repair: the replicas whose copy is older than the merged state get the
// merged state. When every replica has answered by the time the levels are
// met (always with r=all), the repair is done before Get returns, so the next
// read cannot see the divergence; otherwise Get returns at once and a
// background goroutine collects the remaining replies until the request's
// deadline and repairs then.
func (c *Coordinator) Get(ctx context.Context, key []byte, opts ReadOptions) (*versioning.Set, error) {
	start := time.Now()
	state, err := c.get(ctx, key, opts)
	c.cfg.Metrics.request("read", needed(opts.R, opts.PR), start, err)
	return state, err
}

func (c *Coordinator) get(ctx context.Context, key []byte, opts ReadOptions) (*versioning.Set, error) {
	if err := c.cfg.Local.Err(); err != nil {
		// This node serves no data once its disk failed, even a read its
		// peers alone could answer: a client is told to go elsewhere, at
		// once and every time, rather than served depending on which
		// reply comes first.
		return nil, err
	}
	partition, primaries, _ := c.cfg.Placement.Locate(key)
	alive := c.alive(primaries)
	need := needed(opts.R, opts.PR)
	if len(alive) < need || len(alive) < opts.PR {
		return nil, &UnavailableError{Op: "read", Needed: need, Alive: len(alive), NeededPrimaries: opts.PR, AlivePrimaries: len(alive)}
	}
	targets := make([]target, len(alive), len(alive)+2)
	for i, n := range alive {
		targets[i] = target{node: n, primary: true}
	}
	// While the partition's data may still be moving after a ring change,
	// its previous owners are asked too, and waited for: a new primary the
	// data has not reached yet answers "not found", and only an old owner
	// still has the key.
	previous := 0
	if po, ok := c.cfg.Placement.(PreviousOwners); ok {
		for _, n := range c.alive(po.PreviousOwners(partition)) {
			targets = append(targets, target{node: n, previous: true})
			previous++
		}
	}
	if c.ownCopyOnly(targets) {
		// None of the machinery below (a deadline's timer, the replies,
		// the tally, the merge) has anything to do.
		state, err := c.cfg.Local.Read(partition, key)
		if err != nil {
			return nil, err
		}
		c.cfg.Metrics.observeSiblings(state.NumVisible())
		return state, nil
	}
	ctx, cancel := c.withTimeout(ctx, opts.Timeout)
	defer cancel()
	replies := c.fanOut(ctx, "read", targets, func(ctx context.Context, t target) (*versioning.Set, error) {
		if t.node == c.cfg.Self {
			return c.cfg.Local.Read(partition, key)
		}
		return c.cfg.Transport.Read(ctx, t.node, partition, key)
	})
	var merged *versioning.Set
	seen := make([]reply, 0, len(targets))
	t := newTally(need, opts.PR, targets, previous)
	for !t.met() {
		if t.hopeless() {
			return nil, t.failure("read", nil)
		}
		select {
		case r := <-replies:
			if r.err != nil && r.node == c.cfg.Self {
				return nil, r.err // this node's own storage failed: not a level problem
			}
			t.add(r)
			if r.err == nil {
				merged = versioning.Merge(merged, r.state)
				seen = append(seen, r)
			} else {
				c.cfg.Logger.DebugContext(ctx, "replica read failed", "key", string(key), "node", r.node, "err", r.err)
			}
		case <-ctx.Done():
			if t.levelsMet() {
				// Only a previous owner is late: answer with what the
				// levels asked for.
				return merged, nil
			}
			return nil, t.failure("read", ctx.Err())
		}
	}
	c.cfg.Metrics.observeSiblings(merged.NumVisible())

	if t.outstanding == 0 {
		behind := stale(merged, seen)
		if len(behind) == 0 {
			return merged, nil // every replica answered alike: nothing to repair
		}
		repairCtx, done := c.detached(ctx)
		defer done()
		c.repair(repairCtx, partition, key, merged, behind)
		return merged, nil
	}
	repairCtx, done := c.detached(ctx)
	if !c.track(1) {
		done()
		return merged, nil // closing: the repair is left to anti-entropy
	}
	c.calls.Go(func() {
		defer c.wg.Done()
		defer done()
		all, rest := merged, seen
		for outstanding := t.outstanding; outstanding > 0; outstanding-- {
			select {
			case r := <-replies:
				if r.err == nil {
					all = versioning.Merge(all, r.state)
					rest = append(rest, r)
				}
			case <-repairCtx.Done():
				outstanding = 0 // repair what answered in time
			}
		}
		c.repair(repairCtx, partition, key, all, stale(all, rest))
	})
	return merged, nil
}

// stale returns the replies whose copy differs from merged, the replicas a
// read repairs. A previous owner is never among them: it hands off or drops
// its copy.
func stale(merged *versioning.Set, replies []reply) []reply {
	var out []reply
	for _, r := range replies {
		if !r.previous && !r.state.Equal(merged) {
			out = append(out, r)
		}
	}
	return out
}

// repair sends merged to every replica in behind (see stale), and waits
// for them (bounded by ctx).
func (c *Coordinator) repair(ctx context.Context, partition uint32, key []byte, merged *versioning.Set, behind []reply) {
	if merged.IsEmpty() {
		return
	}
	var wg sync.WaitGroup
	for _, r := range behind {
		c.cfg.Metrics.readRepair()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if r.node == c.cfg.Self {
				_, err = c.cfg.Local.Merge(partition, key, merged)
			} else {
				err = c.cfg.Transport.Replicate(ctx, r.node, partition, key, merged)
			}
			if err != nil {
				c.cfg.Logger.DebugContext(ctx, "read repair failed", "key", string(key), "node", r.node, "err", err)
			}
		}()
	}
	wg.Wait()
}
