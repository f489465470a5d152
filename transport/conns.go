package transport

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"

	"dynakv/replica"
	"dynakv/transport/transportpb"
)

// peer is the connection to one node at one address. gRPC multiplexes every
// call over it and reconnects it by itself when the peer restarts.
type peer struct {
	addr string
	cc   *grpc.ClientConn
	rpc  transportpb.NodeClient

	// Guarded by Client.mu.
	refs    int  // calls running on cc
	retired bool // replaced by a new connection (new address, or failing)
}

func (p *peer) close() error { return p.cc.Close() }

// failing reports whether the connection is in transient failure: its
// last attempt to reach the peer failed and it is backing off. Such a
// connection fails calls at once, and only tries again when its backoff
// (up to reconnectMaxDelay) runs out, so a peer that restarted, and that
// gossip already reports alive, would fail the first calls made to it.
func (p *peer) failing() bool { return p.cc.GetState() == connectivity.TransientFailure }

// acquire returns the connection for node's current address, creating it on
// first use, and counts the caller in until release. When the node's address
// changed, or its connection is failing, the old connection is retired:
// closed now if no call runs on it, else by the release of the last one, so
// calls in flight finish normally. A new connection dials on its first call
// and that call waits for the attempt: a peer that is back is reached at
// once, and one still down fails as fast as its connection is refused.
func (c *Client) acquire(node string) (*peer, error) {
	addr, ok := c.cfg.Resolver.Addr(node)
	if !ok || addr == "" {
		return nil, fmt.Errorf("%w: no RPC address known for node %q", replica.ErrUnreachable, node)
	}
	p, stale, err := c.acquireLocked(node, addr)
	if stale != nil {
		stale.close()
	}
	return p, err
}

// acquireLocked does acquire's bookkeeping under c.mu. It returns a retired
// connection that is already idle, for the caller to close without the lock
// (closing waits for gRPC's goroutines).
func (c *Client) acquireLocked(node, addr string) (p, stale *peer, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, ErrClosed
	}
	p = c.peers[node]
	if p != nil && (p.addr != addr || p.failing()) {
		if p.addr != addr {
			c.cfg.Logger.Info("transport: peer address changed; reconnecting", "peer", node, "from", p.addr, "to", addr)
		}
		delete(c.peers, node)
		p.retired = true
		if p.refs == 0 {
			stale = p
		} else {
			c.retired[p] = struct{}{}
		}
		p = nil
	}
	if p == nil {
		// NewClient does no I/O: the first call makes the connection.
		opts := append(dialOptions(c.cfg.MaxMessageBytes, c.versionString()), tracingDialOptions(c.cfg.TracerProvider)...)
		if c.cfg.TLS != nil {
			// Replaces dialOptions' plain credentials: the last one wins.
			opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(c.tlsFor(addr))))
		}
		cc, err := grpc.NewClient("passthrough:///"+addr, opts...)
		if err != nil {
			return nil, stale, fmt.Errorf("%w: dial %s at %s: %w", replica.ErrUnreachable, node, addr, err)
		}
		p = &peer{addr: addr, cc: cc, rpc: transportpb.NewNodeClient(cc)}
		c.peers[node] = p
	}
	p.refs++
	return p, stale, nil
}

// release ends a call acquire counted in, closing a retired connection when
// its last call ends.
func (c *Client) release(p *peer) {
	c.mu.Lock()
	p.refs--
	idle := p.retired && p.refs == 0
	if idle {
		delete(c.retired, p)
	}
	c.mu.Unlock()
	if idle {
		p.close()
	}
}
