package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"dynakv/versioning"
)

// target is one node a request goes to, and in which role.
type target struct {
	node    string
	primary bool
	hintFor string // a fallback's: the down primary it keeps a hint for
	// previous: a read of a node that owned the partition before a ring
	// change (see PreviousOwners); its answer is merged, never counted.
	previous bool
}

// reply is one replica's answer to a read or write.
type reply struct {
	target
	state *versioning.Set // reads: the replica's state, nil when it has none
	err   error
}

// fanOut calls op (a "read" or "write") on every target in parallel, on
// the coordinator's call workers, and delivers the replies on the returned
// channel, which has room for all of them: callers may stop reading early.
// The calls run under a detached context (see detached), so a replica still
// being written when the client has its answer gets the write.
func (c *Coordinator) fanOut(ctx context.Context, kind string, targets []target, op func(context.Context, target) (*versioning.Set, error)) <-chan reply {
	replies := make(chan reply, len(targets))
	switch {
	case len(targets) == 0:
		return replies
	case c.ownCopyOnly(targets):
		// The caller waits for its own copy whatever happens (a restore on
		// one node), so the call runs right here, with no goroutine and no
		// detached context per request. With other targets too, the own
		// copy keeps its goroutine, so that a local disk that hangs cannot
		// hold up a read the others can answer.
		state, err := op(ctx, targets[0])
		replies <- reply{target: targets[0], state: state, err: err}
		return replies
	}
	bg, cancel := c.detached(ctx)
	if !c.track(len(targets)) {
		cancel()
		for _, t := range targets {
			replies <- reply{target: t, err: fmt.Errorf("coordinator closed: %w", ErrUnreachable)}
		}
		return replies
	}
	// The last call to end releases the detached context.
	var pending atomic.Int32
	pending.Store(int32(len(targets)))
	for _, t := range targets {
		c.calls.Go(func() {
			defer c.wg.Done()
			state, err := op(bg, t)
			if t.node != c.cfg.Self {
				call := kind
				if kind == "write" {
					call = "replicate"
					if !t.primary {
						call = "store_hint"
					}
				}
				c.cfg.Metrics.peerCall(t.node, call, err)
			}
			replies <- reply{target: t, state: state, err: err}
			if pending.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return replies
}

// tally counts replies toward a request's levels.
type tally struct {
	need, needPrimaries int
	ok, okPrimaries     int
	outstanding         int // every target's, previous owners' included
	previous            int // previous owners' replies outstanding
	ackedBy             []string
	cause               error // the first failed reply that was not a plain unreachable peer
}

// newTally returns the tally of a request to targets, previous of which
// are previous owners.
func newTally(need, needPrimaries int, targets []target, previous int) tally {
	return tally{need: need, needPrimaries: needPrimaries, outstanding: len(targets), previous: previous, ackedBy: make([]string, 0, len(targets))}
}

func (t *tally) add(r reply) {
	t.outstanding--
	if r.previous {
		t.previous--
		return
	}
	if r.err != nil {
		if t.cause == nil && !IsUnreachable(r.err) {
			t.cause = fmt.Errorf("%s: %w", r.node, r.err)
		}
		return
	}
	t.ok++
	if r.primary {
		t.okPrimaries++
	}
	t.ackedBy = append(t.ackedBy, r.node)
}

// met reports that the levels are met and no previous owner's answer is
// outstanding.
func (t *tally) met() bool { return t.levelsMet() && t.previous == 0 }

// levelsMet reports that enough replicas answered for the levels.
func (t *tally) levelsMet() bool { return t.ok >= t.need && t.okPrimaries >= t.needPrimaries }

// hopeless reports that even if every outstanding reply succeeds the levels
// cannot be met, so waiting longer is pointless.
func (t *tally) hopeless() bool {
	counted := t.outstanding - t.previous
	return t.ok+counted < t.need || t.okPrimaries+counted < t.needPrimaries
}

// failure is the error of a request whose levels were not met: a
// TimeoutError naming who acked, carrying the first replica error that was
// more than an unreachable peer or a deadline, if any, so it is not lost.
func (t *tally) failure(op string, ctxErr error) error {
	e := &TimeoutError{Op: op, Needed: t.need, Acked: t.ok, AckedBy: slices.Clone(t.ackedBy)}
	if ctxErr != nil && !errors.Is(ctxErr, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", e, ctxErr)
	}
	if t.cause != nil && !errors.Is(t.cause, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", e, t.cause)
	}
	return e
}
