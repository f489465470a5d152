package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"dynakv/versioning"
)

// Config configures a Coordinator.
type Config struct {
	Self           string        // this node's id
	N              int           // replicas per key
	DefaultTimeout time.Duration // used when a request names none
	Local          *Local        // this node's replica
	Placement      Placement
	Liveness       Liveness  // nil: every node is taken as alive
	Transport      Transport // nil: a single node with no peers
	Logger         *slog.Logger
	Metrics        *Metrics
}

// Coordinator runs reads and writes for any key on behalf of a client,
// against the key's preference list, and answers as soon as the request's
// levels are met. Replica calls that are still running when the client has
// its answer go on in the background until the request's deadline; Close
// stops and waits for them.
type Coordinator struct {
	cfg    Config
	stop   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a coordinator. It checks the configuration and starts nothing.
func New(cfg Config) (*Coordinator, error) {
	switch {
	case cfg.Self == "":
		return nil, errors.New("replica: Config.Self is empty")
	case cfg.N < 1:
		return nil, fmt.Errorf("replica: Config.N is %d, want at least 1", cfg.N)
	case cfg.Local == nil || cfg.Placement == nil:
		return nil, errors.New("replica: Config.Local and Config.Placement are required")
	case cfg.DefaultTimeout <= 0:
		return nil, fmt.Errorf("replica: Config.DefaultTimeout is %v, want a positive duration", cfg.DefaultTimeout)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Coordinator{cfg: cfg}
	c.stop, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// N is the number of replicas a key has now (see Placement.Replicas): the
// upper bound of every level.
func (c *Coordinator) N() int { return min(c.cfg.N, c.cfg.Placement.Replicas()) }

// Close cancels the replica calls still running in the background and waits
// for them to return.
func (c *Coordinator) Close() {
	c.cancel()
	c.wg.Wait()
}

// reply is one replica's answer to a read or write.
type reply struct {
	node    string
	primary bool
	state   *versioning.Set // reads: the replica's state, nil when it has none
	err     error
}

// Get reads key from its replicas and returns the merged state once r
// replicas (pr of them primaries) answered. A nil state means no replica that
// answered has the key.
func (c *Coordinator) Get(ctx context.Context, key []byte, opts ReadOptions) (*versioning.Set, error) {
	partition, primaries, _ := c.cfg.Placement.Locate(key)
	targets := c.alive(primaries)
	need := needed(opts.R, opts.PR)
	if len(targets) < need || len(targets) < opts.PR {
		return nil, &UnavailableError{Op: "read", Needed: need, Alive: len(targets), NeededPrimaries: opts.PR, AlivePrimaries: len(targets)}
	}
	ctx, cancel := c.withTimeout(ctx, opts.Timeout)
	defer cancel()

	replies := c.fanOut(ctx, targets, func(ctx context.Context, node string) (*versioning.Set, error) {
		if node == c.cfg.Self {
			return c.cfg.Local.Read(partition, key)
		}
		return c.cfg.Transport.Read(ctx, node, partition, key)
	})
	var merged *versioning.Set
	t := tally{need: need, needPrimaries: opts.PR, outstanding: len(targets)}
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
			} else {
				c.cfg.Logger.Debug("replica read failed", "key", string(key), "node", r.node, "err", r.err)
			}
		case <-ctx.Done():
			return nil, t.failure("read", ctx.Err())
		}
	}
	c.cfg.Metrics.observeSiblings(len(merged.Visible()))
	return merged, nil
}

// Put applies a client write or delete and returns the key's new state once
// w replicas (pw of them primaries) stored it. The write is coordinated by a
// primary of the key: on any other node it is forwarded to one.
func (c *Coordinator) Put(ctx context.Context, key []byte, w Write, opts WriteOptions) (*versioning.Set, error) {
	return c.put(ctx, key, w, opts, true)
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
	partition, primaries, _ := c.cfg.Placement.Locate(key)
	targets := c.alive(primaries)
	need := needed(opts.W, opts.PW)
	if len(targets) < need || len(targets) < opts.PW {
		return nil, &UnavailableError{Op: "write", Needed: need, Alive: len(targets), NeededPrimaries: opts.PW, AlivePrimaries: len(targets)}
	}
	ctx, cancel := c.withTimeout(ctx, opts.Timeout)
	defer cancel()
	selfIsPrimary := slices.Contains(targets, c.cfg.Self)
	if !selfIsPrimary && mayForward {
		return c.forward(ctx, targets, key, w, opts)
	}

	state, err := c.cfg.Local.Coordinate(partition, key, w)
	if err != nil {
		return nil, err
	}
	others := slices.DeleteFunc(slices.Clone(targets), func(n string) bool { return n == c.cfg.Self })
	t := tally{need: need, needPrimaries: opts.PW, outstanding: len(others)}
	if selfIsPrimary {
		t.outstanding++
		t.add(reply{node: c.cfg.Self, primary: true})
	}
	if len(others) == 0 {
		if !t.met() {
			return nil, t.failure("write", nil)
		}
		return state, nil
	}
	replies := c.fanOut(ctx, others, func(ctx context.Context, node string) (*versioning.Set, error) {
		return nil, c.cfg.Transport.Replicate(ctx, node, partition, key, state)
	})
	for !t.met() {
		if t.hopeless() {
			return nil, t.failure("write", nil)
		}
		select {
		case r := <-replies:
			t.add(r)
			if r.err != nil {
				c.cfg.Logger.Debug("replicate failed", "key", string(key), "node", r.node, "err", r.err)
			}
		case <-ctx.Done():
			return nil, t.failure("write", ctx.Err())
		}
	}
	return state, nil
}

// forward hands a write to a primary of the key, trying the live primaries in
// preference order until one answers. The primary gets a little less time
// than this node has left, so that its own answer (a TimeoutError naming the
// replicas that acked) arrives before this node's deadline.
func (c *Coordinator) forward(ctx context.Context, targets []string, key []byte, w Write, opts WriteOptions) (*versioning.Set, error) {
	if c.cfg.Transport == nil {
		return nil, fmt.Errorf("forward write of %q: no transport to reach %v", key, targets)
	}
	need := needed(opts.W, opts.PW)
	var errs []error
	for _, node := range targets {
		deadline, _ := ctx.Deadline()
		fwd := opts
		fwd.Timeout = time.Until(deadline) * 9 / 10
		if fwd.Timeout <= 0 {
			break
		}
		state, err := c.cfg.Transport.Coordinate(ctx, node, key, w, fwd)
		if err == nil || !IsUnreachable(err) {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("forward write of %q to %s: %w", key, node, &TimeoutError{Op: "write", Needed: need})
			}
			return state, err
		}
		errs = append(errs, fmt.Errorf("forward write of %q to %s: %w", key, node, err))
	}
	if len(errs) == len(targets) {
		// Gossip believed them alive, but none was reached: as unavailable
		// as if gossip had known, and nothing was written.
		return nil, fmt.Errorf("%w (%w)", &UnavailableError{Op: "write", Needed: need, Alive: 0, NeededPrimaries: opts.PW}, errors.Join(errs...))
	}
	return nil, &TimeoutError{Op: "write", Needed: need}
}

// fanOut calls op on every node in parallel and delivers the replies on the
// returned channel, which has room for all of them: callers may stop reading
// early. The calls keep the request's deadline but not its cancellation, so a
// replica still being written when the client has its answer gets the write;
// Close cancels them.
func (c *Coordinator) fanOut(ctx context.Context, nodes []string, op func(context.Context, string) (*versioning.Set, error)) <-chan reply {
	replies := make(chan reply, len(nodes))
	bg := context.WithoutCancel(ctx)
	var cancel context.CancelFunc
	if deadline, ok := ctx.Deadline(); ok {
		bg, cancel = context.WithDeadline(bg, deadline)
	} else {
		bg, cancel = context.WithCancel(bg)
	}
	stopOnClose := context.AfterFunc(c.stop, cancel)
	var pending sync.WaitGroup
	pending.Add(len(nodes))
	c.wg.Add(len(nodes) + 1)
	for _, node := range nodes {
		go func() {
			defer c.wg.Done()
			defer pending.Done()
			state, err := op(bg, node)
			replies <- reply{node: node, primary: true, state: state, err: err}
		}()
	}
	go func() {
		defer c.wg.Done()
		pending.Wait()
		stopOnClose()
		cancel()
	}()
	return replies
}

// alive returns the nodes believed reachable, in preference order. This node
// is always reachable from itself.
func (c *Coordinator) alive(nodes []string) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if n == c.cfg.Self || c.cfg.Liveness == nil || c.cfg.Liveness.Alive(n) {
			out = append(out, n)
		}
	}
	return out
}

func (c *Coordinator) withTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = c.cfg.DefaultTimeout
	}
	return context.WithTimeout(ctx, timeout)
}

// tally counts replies toward a request's levels.
type tally struct {
	need, needPrimaries int
	ok, okPrimaries     int
	outstanding         int
	ackedBy             []string
	cause               error // the first failed reply that was not a plain unreachable peer
}

func (t *tally) add(r reply) {
	t.outstanding--
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

func (t *tally) met() bool { return t.ok >= t.need && t.okPrimaries >= t.needPrimaries }

// hopeless reports that even if every outstanding reply succeeds the levels
// cannot be met, so waiting longer is pointless.
func (t *tally) hopeless() bool {
	return t.ok+t.outstanding < t.need || t.okPrimaries+t.outstanding < t.needPrimaries
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
