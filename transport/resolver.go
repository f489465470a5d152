package transport

// Resolver maps a node id to the host:port of its RPC listener. The Client
// asks on every call, so a node that came back on a new address is reached
// there (the connection to the old address is closed once idle).
type Resolver interface {
	Addr(nodeID string) (addr string, ok bool)
}

// ResolverFunc adapts a function to a Resolver.
type ResolverFunc func(nodeID string) (addr string, ok bool)

// Addr calls f.
func (f ResolverFunc) Addr(nodeID string) (string, bool) { return f(nodeID) }
