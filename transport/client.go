package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"dynakv/internal/workpool"
	"dynakv/replica"
	"dynakv/transport/internal/rpcerr"
	"dynakv/transport/transportpb"
	"dynakv/versioning"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	Resolver        Resolver     // required: node id → RPC address
	Logger          *slog.Logger // nil: slog.Default()
	MaxMessageBytes int          // largest message sent or accepted; 0: DefaultMaxMessageBytes
	// TracerProvider records a span per call and carries the trace context
	// to the peer; nil: no tracing.
	TracerProvider trace.TracerProvider
	// CallsInFlight is how many Replicate (or Read) calls to one peer run
	// at once; calls beyond it are coalesced into ReplicateBatch (ReadBatch)
	// calls (see coalesce.go). 0: DefaultCallsInFlight.
	CallsInFlight int
	// Registerer receives the client's metrics; nil: none are kept.
	Registerer prometheus.Registerer
	// TLS, if set, encrypts every connection: it must trust the peers'
	// certificates (RootCAs) and hold this node's own (Certificates) when
	// the peers require one. Nil: plain connections, for a private network.
	TLS *tls.Config
	// RootCAs, if set with TLS, replaces TLS.RootCAs: it is asked for the
	// authority at every handshake, so a renewed authority takes effect on
	// the next connection without a restart. The check is otherwise the
	// one TLS makes: a chain to the authority, and the dialled host among
	// the certificate's names.
	RootCAs func() *x509.CertPool
}

// Client calls other nodes. It keeps one gRPC connection per peer, dialed on
// the first call and shared by all calls to that peer, and implements
// replica.Transport. It is safe for concurrent use; Close releases it.
type Client struct {
	cfg     ClientConfig
	version uint32 // ProtocolVersion; a test may change it before the first call
	// entriesPerCall observes, by kind, how many entries each Read or
	// Replicate call to a peer carried: 1 when the peer was idle, more when
	// coalescing batched them. Nil without ClientConfig.Registerer.
	entriesPerCall *prometheus.HistogramVec

	mu      sync.Mutex
	peers   map[string]*peer        // by node id
	retired map[*peer]struct{}      // replaced by a new address, closed once idle
	queues  map[queueKey]*callQueue // by node id and kind of call
	closed  bool

	wg      sync.WaitGroup // coalesced calls in flight
	batches *workpool.Pool // runs them, reusing goroutines (and their grown stacks)
}

// batchWorkers is how many goroutines wait to send coalesced calls: two
// kinds of call to each of a few peers, one regular and one late slot
// each. More batches at once each get a goroutine of their own.
const batchWorkers = 16

var _ replica.Transport = (*Client)(nil)

// NewClient returns a client. It dials nothing until the first call.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("transport: ClientConfig.Resolver is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.CallsInFlight <= 0 {
		cfg.CallsInFlight = DefaultCallsInFlight
	}
	c := &Client{
		cfg:     cfg,
		version: ProtocolVersion,
		peers:   make(map[string]*peer),
		retired: make(map[*peer]struct{}),
		queues:  make(map[queueKey]*callQueue),
		batches: workpool.New(batchWorkers),
	}
	if cfg.Registerer != nil {
		c.entriesPerCall = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dynakv_transport_entries_per_call",
			Help:    "Keys carried by each read or replicate call to another node, by call (read, replicate): above 1 when calls to a busy peer were coalesced.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}, []string{"call"})
		if err := cfg.Registerer.Register(c.entriesPerCall); err != nil {
			c.batches.Close()
			return nil, fmt.Errorf("register transport metrics: %w", err)
		}
	}
	return c, nil
}

// Read returns node's stored state of key (nil when it has none). Calls to
// a busy peer are coalesced (see coalesce.go).
func (c *Client) Read(ctx context.Context, node string, partition uint32, key []byte) (*versioning.Set, error) {
	buf, err := c.queue(node, readCalls).do(ctx, &transportpb.KeyState{Partition: partition, Key: key})
	if err != nil {
		return nil, fmt.Errorf("read %q from %s: %w", key, node, err)
	}
	state, err := decodeState(buf)
	if err != nil {
		return nil, fmt.Errorf("read %q from %s: %w", key, node, err)
	}
	return state, nil
}

// Replicate merges state into node's copy of key and returns once node has
// stored it durably. Calls to a busy peer are coalesced (see coalesce.go).
func (c *Client) Replicate(ctx context.Context, node string, partition uint32, key []byte, state *versioning.Set) error {
	entry := &transportpb.KeyState{Partition: partition, Key: key, State: encodeState(state)}
	if _, err := c.queue(node, replicateCalls).do(ctx, entry); err != nil {
		return fmt.Errorf("replicate %q to %s: %w", key, node, err)
	}
	return nil
}

// ReplicateBatch merges every entry's state into node's copy of its key and
// returns once node stored all of them durably. A node that predates the
// call gets the entries one Replicate call each.
func (c *Client) ReplicateBatch(ctx context.Context, node string, entries []replica.KeyState) error {
	req := &transportpb.ReplicateBatchRequest{Entries: keyStatesPB(entries)}
	err := c.call(node, func(rpc transportpb.NodeClient) error {
		_, err := rpc.ReplicateBatch(ctx, req)
		return err
	})
	if errors.Is(err, ErrUnimplemented) {
		_, err = c.sendEach(ctx, node, replicateCalls, req.Entries)
	}
	if err != nil {
		return fmt.Errorf("replicate %d keys to %s: %w", len(entries), node, err)
	}
	return nil
}

// Coordinate forwards a client write to node, which coordinates it with the
// same levels, and returns the key's new state. node's refusals come back as
// the same typed errors a local coordinator returns.
func (c *Client) Coordinate(ctx context.Context, node string, key []byte, w replica.Write, opts replica.WriteOptions) (*versioning.Set, error) {
	var resp *transportpb.CoordinateResponse
	err := c.call(node, func(rpc transportpb.NodeClient) (err error) {
		resp, err = rpc.Coordinate(ctx, coordinateRequest(key, w, opts))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("coordinate %q on %s: %w", key, node, err)
	}
	state, err := decodeState(resp.GetState())
	if err != nil {
		return nil, fmt.Errorf("coordinate %q on %s: %w", key, node, err)
	}
	return state, nil
}

// StoreHint asks node, a fallback, to store state durably as a hint for
// target, a primary of key that is down, and returns once node has stored
// it. node's refusal (such as a full hint queue) comes back as an error that
// is not unreachable; a node that predates the call answers with an error
// wrapping ErrUnimplemented.
func (c *Client) StoreHint(ctx context.Context, node, target string, partition uint32, key []byte, state *versioning.Set) error {
	req := &transportpb.StoreHintRequest{Target: target, Entry: &transportpb.KeyState{Partition: partition, Key: key, State: encodeState(state)}}
	err := c.call(node, func(rpc transportpb.NodeClient) error {
		_, err := rpc.StoreHint(ctx, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("store hint of %q for %s on %s: %w", key, target, node, err)
	}
	return nil
}

// HeldHints returns, by target, the merged state of the undelivered hints
// node holds for key (an empty map when it holds none). A node that
// predates the call answers with an error wrapping ErrUnimplemented.
func (c *Client) HeldHints(ctx context.Context, node string, partition uint32, key []byte) (map[string]*versioning.Set, error) {
	var resp *transportpb.HeldHintsResponse
	err := c.call(node, func(rpc transportpb.NodeClient) (err error) {
		resp, err = rpc.HeldHints(ctx, &transportpb.HeldHintsRequest{Partition: partition, Key: key})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list hints of %q held by %s: %w", key, node, err)
	}
	held, err := fromHeldHints(resp)
	if err != nil {
		return nil, fmt.Errorf("list hints of %q held by %s: %w", key, node, err)
	}
	return held, nil
}

// Close closes every connection. Calls still running fail; later calls
// return ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	all := make([]*peer, 0, len(c.peers)+len(c.retired))
	for _, p := range c.peers {
		all = append(all, p)
	}
	for p := range c.retired {
		all = append(all, p)
	}
	clear(c.peers)
	clear(c.retired)
	c.mu.Unlock()

	var errs []error
	for _, p := range all {
		errs = append(errs, p.close())
	}
	c.wg.Wait() // coalesced calls fail fast on closed connections
	c.batches.Close()
	return errors.Join(errs...)
}

// track counts in a goroutine Close waits for, unless the client is closed.
func (c *Client) track() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// call runs one RPC on node's connection and translates its error.
func (c *Client) call(node string, rpc func(transportpb.NodeClient) error) error {
	p, err := c.acquire(node)
	if err != nil {
		return err
	}
	err = rpc(p.rpc)
	c.release(p)
	if err == nil {
		return nil
	}
	if c.isClosed() {
		return fmt.Errorf("%w (%v)", ErrClosed, err)
	}
	return rpcerr.Decode(err)
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Client) versionString() string { return strconv.FormatUint(uint64(c.version), 10) }
