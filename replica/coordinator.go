package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"dynakv/internal/workpool"
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
	// Hints keeps the hints this node holds as a fallback for down
	// primaries. Nil: this node never stands in for a primary itself
	// (writes still use other nodes as fallbacks).
	Hints   HintStore
	Logger  *slog.Logger
	Metrics *Metrics
	// TracerProvider records a span for this node's own storage write of a
	// request; nil: no tracing.
	TracerProvider trace.TracerProvider
}

// Coordinator runs reads and writes for any key on behalf of a client,
// against the key's preference list, and answers as soon as the request's
// levels are met. Replica calls that are still running when the client has
// its answer go on in the background until the request's deadline; Close
// stops and waits for them.
type Coordinator struct {
	cfg    Config
	tracer trace.Tracer
	stop   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // replica calls in flight
	calls  *workpool.Pool // runs them, reusing goroutines (and their grown stacks)

	mu     sync.RWMutex // guards closed, and wg.Add against Close's Wait
	closed bool
}

// HintStore durably keeps states this node holds for down primaries (the
// hints package's Manager).
type HintStore interface {
	Store(target string, partition uint32, key []byte, state *versioning.Set) error
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
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = noop.NewTracerProvider()
	}
	c := &Coordinator{cfg: cfg, tracer: cfg.TracerProvider.Tracer("dynakv/replica"), calls: workpool.New(callWorkers)}
	c.stop, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// N is the number of replicas a key has now (see Placement.Replicas): the
// upper bound of every level.
func (c *Coordinator) N() int { return min(c.cfg.N, c.cfg.Placement.Replicas()) }

// Close cancels the replica calls and read repairs still running in the
// background and waits for them to return.
func (c *Coordinator) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.calls.Close()
}

// callWorkers is how many goroutines wait for replica calls to run: about
// the calls in flight at 32 concurrent requests with three replicas each.
// More calls than that at once each get a goroutine of their own.
const callWorkers = 64

// track counts n goroutines the coordinator owns, unless Close has begun, in
// which case it reports false and the caller starts none: a WaitGroup must
// not grow while Close waits on it.
func (c *Coordinator) track(n int) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	c.wg.Add(n)
	return true
}

// isAlive reports whether node is believed reachable. This node always is.
func (c *Coordinator) isAlive(node string) bool {
	return node == c.cfg.Self || c.cfg.Liveness == nil || c.cfg.Liveness.Alive(node)
}

// alive returns the nodes believed reachable, in preference order.
func (c *Coordinator) alive(nodes []string) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if c.isAlive(n) {
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

// ownCopyOnly reports whether targets is this node's own copy alone (N=1,
// or the only primary alive): a request to it runs on the request's
// goroutine to the end, as the disk allows, with nothing to wait for on
// another node, merge or repair.
func (c *Coordinator) ownCopyOnly(targets []target) bool {
	return len(targets) == 1 && targets[0].node == c.cfg.Self
}

// timeoutFor is withTimeout for a request to targets, except that a request
// to this node's own copy alone gets no deadline, which nothing in it could
// wait on, and so no timer: a timer and its registration with the request's
// context were 6% of a one-node GET's CPU.
func (c *Coordinator) timeoutFor(ctx context.Context, timeout time.Duration, targets []target) (context.Context, context.CancelFunc) {
	if c.ownCopyOnly(targets) {
		return ctx, func() {}
	}
	return c.withTimeout(ctx, timeout)
}

// detached returns a context with ctx's deadline but not its cancellation,
// which Close cancels: for replica calls and repairs that go on after the
// client has its answer (or has gone away).
func (c *Coordinator) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	bg := context.WithoutCancel(ctx)
	var cancel context.CancelFunc
	if deadline, ok := ctx.Deadline(); ok {
		bg, cancel = context.WithDeadline(bg, deadline)
	} else {
		bg, cancel = context.WithCancel(bg)
	}
	stop := context.AfterFunc(c.stop, cancel)
	return bg, func() { stop(); cancel() }
}
