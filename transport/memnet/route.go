package memnet

import (
	"context"
	"fmt"
	"time"

	"dynakv/replica"
	"dynakv/reqctx"
	"dynakv/transport"
)

// delivery is what the network decided for one call.
type delivery struct {
	handler transport.Handler
	drop    bool // succeed without calling the handler
}

// deliver carries a call from one node to another through the faults: it
// returns the handler to call, or the error the caller sees.
func (n *Network) deliver(ctx context.Context, from, to, op string) (delivery, error) {
	if err := ctx.Err(); err != nil {
		return delivery{}, err
	}
	if _, err := n.route(from, to); err != nil {
		return delivery{}, err
	}
	n.mu.Lock()
	hook, delay := n.intercept, n.delays[link{from, to}]
	n.mu.Unlock()
	if hook != nil {
		if err := hook(from, to, op); err != nil {
			return delivery{}, err
		}
	}
	if delay > 0 {
		if err := wait(ctx, delay); err != nil {
			return delivery{}, err
		}
	}
	// Faults set while the call was in flight apply to it too.
	h, err := n.route(from, to)
	if err != nil {
		return delivery{}, err
	}
	n.mu.Lock()
	drop := op == OpReplicate && n.drops[link{from, to}]
	n.mu.Unlock()
	return delivery{handler: h, drop: drop}, nil
}

// route returns to's handler if from can reach it now.
func (n *Network) route(from, to string) (transport.Handler, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.handlers[to]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: no node %q on the network", replica.ErrUnreachable, to)
	case n.down[to]:
		return nil, fmt.Errorf("%w: node %s is down", replica.ErrUnreachable, to)
	case n.down[from]:
		return nil, fmt.Errorf("%w: calling node %s is down", replica.ErrUnreachable, from)
	case from == to:
		return h, nil
	case n.isolated[from] || n.isolated[to]:
		return nil, fmt.Errorf("%w: %s and %s are isolated from each other", replica.ErrUnreachable, from, to)
	case n.groups != nil && n.groups[from] != n.groups[to]:
		return nil, fmt.Errorf("%w: %s and %s are partitioned", replica.ErrUnreachable, from, to)
	}
	return h, nil
}

// wait waits d, or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// detach returns the context a handler runs with: the caller's deadline,
// cancellation and request ID, but none of its other values, as over the
// wire.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	base := context.Background()
	if id := reqctx.ID(ctx); id != "" {
		base = reqctx.WithID(base, id)
	}
	var hctx context.Context
	var cancel context.CancelFunc
	if d, ok := ctx.Deadline(); ok {
		hctx, cancel = context.WithDeadline(base, d)
	} else {
		hctx, cancel = context.WithCancel(base)
	}
	stop := context.AfterFunc(ctx, cancel)
	return hctx, func() {
		stop()
		cancel()
	}
}
