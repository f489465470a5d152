package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Gossip is one node's membership: its memberlist instance, the ring
// membership it persists and converges with its peers, and the liveness it
// learns. Build it with Start; every method is safe for concurrent use.
type Gossip struct {
	cfg      Config
	log      *slog.Logger
	settings settings
	meta     []byte // this node's encoded nodeMeta

	// ml is set once by Start, before Start returns; memberlist's own
	// goroutines read it earlier (through the queue's NumNodes), hence atomic.
	ml         atomic.Pointer[memberlist.Memberlist]
	gossipAddr atomic.Pointer[string] // this node's advertised host:port, set after ml starts
	queue      *memberlist.TransmitLimitedQueue
	subs       notifier

	// mu guards the fields below. Lock order: memberlist calls our delegates
	// while holding its own locks, so never call memberlist with mu held.
	mu      sync.RWMutex
	members membership      // ring membership
	peers   map[string]peer // liveness learned from memberlist events
	gen     uint64          // counts changes of members, for persisting in order
	// refuteRemoval is set from Start until the first push/pull with a
	// peer: a node being started means to be a ring member, so a Left or
	// Removed entry for it learned in that window is overridden.
	refuteRemoval bool
	leaving       bool  // Leave or MarkLeaving was called: never refute
	refusal       error // the latest settings mismatch, returned by Start's join

	persisting atomic.Bool // set once Start succeeded: a failed join writes nothing
	persistMu  sync.Mutex  // serialises writes of MEMBERS; guards the two below
	persisted  uint64      // gen of the last write
	wroteOnce  bool
	persistCh  chan struct{}

	// lifeMu orders memberlist's Leave before its Shutdown (memberlist
	// panics on Leave after Shutdown): Close closes stop under it.
	lifeMu    sync.Mutex
	stop      chan struct{} // closed by Close: stops the goroutines below
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	// newcomer: this start made the node a ring member (its data folder
	// held no membership with it in the ring). Set once by Start.
	newcomer bool
}

// peer is what memberlist told us about a node.
type peer struct {
	meta  nodeMeta // zero when undecodable
	addr  string   // gossip address host:port
	state memberlist.NodeStateType
}

// Start starts gossip for this node: it loads the persisted ring membership
// (if any), starts memberlist, records this node as a ring member and joins
// cfg.Join. It returns an error wrapping ErrSettingsMismatch when the data
// folder or the cluster joined has other settings, and an error when cfg.Join
// is set but no address can be reached by a node that knows no peers from
// its data folder. A restarting node that knows peers starts even when none
// is reachable, and keeps trying to reach them every RejoinInterval.
func Start(cfg Config) (*Gossip, error) { return StartContext(context.Background(), cfg) }

// StartContext is Start, except that ctx ending stops a join still retrying
// cfg.Join (an interrupted `dynakv serve`), with an error wrapping ctx's.
func StartContext(ctx context.Context, cfg Config) (*Gossip, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gossip{
		cfg:           cfg,
		log:           cfg.Logger.With("component", "gossip", "node", cfg.NodeID),
		settings:      cfg.settings(),
		members:       make(membership),
		peers:         make(map[string]peer),
		refuteRemoval: true,
		persistCh:     make(chan struct{}, 1),
		stop:          make(chan struct{}),
	}
	g.meta, err = nodeMeta{ID: cfg.NodeID, HTTPAddr: cfg.HTTPAddr, RPCAddr: cfg.RPCAddr, Protocol: ProtocolVersion, Settings: g.settings}.encode()
	if err != nil {
		return nil, fmt.Errorf("gossip: start %s: %w", cfg.NodeID, err)
	}
	if len(g.meta) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("%w: node metadata is %d bytes, more than %d: shorten the node id or addresses",
			ErrInvalidConfig, len(g.meta), memberlist.MetaMaxSize)
	}
	knownPeers, err := g.loadPersisted()
	if err != nil {
		return nil, err
	}
	mlc, err := g.memberlistConfig()
	if err != nil {
		return nil, err
	}
	ml, err := memberlist.Create(mlc)
	if err != nil {
		return nil, fmt.Errorf("gossip: start memberlist on %s:%d: %w", cfg.BindAddr, cfg.BindPort, err)
	}
	addr := ml.LocalNode().Address()
	g.gossipAddr.Store(&addr)
	g.ml.Store(ml)
	if self, ok := g.members[cfg.NodeID]; !ok || !self.Status.inRing() {
		g.newcomer = true
	}
	g.joinRing()
	if err := g.joinCluster(ctx, len(knownPeers) > 0); err != nil {
		return nil, g.abort(err)
	}
	g.persisting.Store(true)
	if err := g.persistLatest(); err != nil {
		return nil, g.abort(fmt.Errorf("gossip: start %s: %w", cfg.NodeID, err))
	}
	g.wg.Add(2)
	go g.persistLoop()
	go g.rejoinLoop()
	g.log.Info("gossip started", "gossip_addr", g.LocalAddr(), "ring", g.RingMembers(), "joined_via", cfg.Join)
	return g, nil
}

// abort stops a Gossip whose Start failed and returns err.
func (g *Gossip) abort(err error) error {
	if cerr := g.Close(); cerr != nil {
		g.log.Warn("stop after failed start", "err", cerr)
	}
	return err
}

// loadPersisted creates the data folder, loads the persisted membership into
// g.members and returns the ring members other than this node.
func (g *Gossip) loadPersisted() ([]string, error) {
	if g.cfg.DataDir == "" {
		g.log.Warn("no data folder: ring membership is not persisted")
		return nil, nil
	}
	if err := os.MkdirAll(g.cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("gossip: create data folder: %w", err)
	}
	doc, err := loadMembers(g.cfg.DataDir)
	if err != nil || doc == nil {
		return nil, wrapErr("gossip: load ring membership", err)
	}
	if doc.Self != g.cfg.NodeID {
		return nil, fmt.Errorf("%w: data folder %s belongs to node %q, not %q", ErrInvalidConfig, g.cfg.DataDir, doc.Self, g.cfg.NodeID)
	}
	if err := g.settings.check(doc.Settings, "data folder "+g.cfg.DataDir); err != nil {
		return nil, err
	}
	g.members.merge(doc.Members)
	var peers []string
	for _, id := range g.members.ringIDs() {
		if id != g.cfg.NodeID {
			peers = append(peers, id)
		}
	}
	g.log.Info("loaded ring membership", "dir", g.cfg.DataDir, "ring", g.members.ringIDs())
	return peers, nil
}

// wrapErr wraps err with what was being done, or returns nil.
func wrapErr(doing string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// memberlistConfig builds memberlist's configuration from g.cfg.
func (g *Gossip) memberlistConfig() (*memberlist.Config, error) {
	c := memberlist.DefaultLANConfig()
	c.BindAddr = g.cfg.BindAddr
	c.BindPort = g.cfg.BindPort
	c.AdvertiseAddr = g.cfg.AdvertiseAddr
	c.AdvertisePort = g.cfg.AdvertisePort
	if keys := g.cfg.SecretKeys; len(keys) > 0 {
		kr, err := memberlist.NewKeyring(keys, keys[0])
		if err != nil {
			return nil, fmt.Errorf("%w: gossip keys: %w", ErrInvalidConfig, err)
		}
		c.Keyring = kr
	}
	if g.cfg.Memberlist != nil {
		g.cfg.Memberlist(c)
	}
	c.Name = g.cfg.NodeID
	c.Delegate = delegate{g}
	c.DelegateProtocolVersion = ProtocolVersion
	c.DelegateProtocolMin = ProtocolVersion
	c.DelegateProtocolMax = ProtocolVersion
	c.Events = events{g}
	c.Merge = admission{g}
	c.Alive = admission{g}
	c.Conflict = conflicts{g}
	c.LogOutput = nil
	c.Logger = newMemberlistLogger(g.log, g.closed)
	g.queue = &memberlist.TransmitLimitedQueue{
		NumNodes:       g.numNodes,
		RetransmitMult: c.RetransmitMult,
	}
	return c, nil
}

// numNodes is the cluster size the broadcast queue scales retransmits by.
func (g *Gossip) numNodes() int {
	if ml := g.ml.Load(); ml != nil {
		return ml.NumMembers()
	}
	return 1
}

// joinCluster joins cfg.Join, if any. knowsPeers tells whether the data
// folder named other ring members, which the rejoin loop will try instead
// when no Join address answers. A new node retries its Join addresses,
// backing off from joinRetryMin to joinRetryMax, until cfg.JoinTimeout.
func (g *Gossip) joinCluster(ctx context.Context, knowsPeers bool) error {
	if len(g.cfg.Join) == 0 {
		return nil
	}
	giveUp := time.Now().Add(g.cfg.JoinTimeout)
	wait := joinRetryMin
	for {
		n, err := g.ml.Load().Join(g.cfg.Join)
		g.mu.RLock()
		refusal := g.refusal
		g.mu.RUnlock()
		if refusal != nil {
			return fmt.Errorf("gossip: join cluster via %v: %w", g.cfg.Join, refusal)
		}
		if n > 0 {
			return nil
		}
		if knowsPeers {
			g.log.Warn("no join address answered; will keep trying the known ring members", "join", g.cfg.Join, "err", err)
			return nil
		}
		if time.Now().Add(wait).After(giveUp) {
			return fmt.Errorf("gossip: join cluster via %v: no address answered within %v (is a node running there? --join-timeout waits longer): %w", g.cfg.Join, g.cfg.JoinTimeout, err)
		}
		if wait == joinRetryMin {
			g.log.Warn("no join address answered yet; retrying", "join", g.cfg.Join, "until", giveUp.Format(time.RFC3339), "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gossip: join cluster via %v: stopped while retrying: %w", g.cfg.Join, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, joinRetryMax)
	}
}

// A new node retries its Join addresses this often, backing off.
const (
	joinRetryMin = 100 * time.Millisecond
	joinRetryMax = 2 * time.Second
)

// Newcomer reports whether this start made the node a ring member, rather
// than restarting a member: its ring before this start was none.
func (g *Gossip) Newcomer() bool { return g.newcomer }

// LocalAddr returns the gossip address (host:port) other nodes reach this
// node at; with BindPort 0 it carries the port the OS chose.
func (g *Gossip) LocalAddr() string {
	if addr := g.gossipAddr.Load(); addr != nil {
		return *addr
	}
	return ""
}

// Close stops gossip without leaving the ring: peers see this node as dead
// until it comes back. It returns once every goroutine it started stopped.
// Calling it again returns the first result.
func (g *Gossip) Close() error {
	g.closeOnce.Do(func() {
		g.lifeMu.Lock()
		close(g.stop)
		g.lifeMu.Unlock()
		g.wg.Wait()
		if ml := g.ml.Load(); ml != nil {
			g.closeErr = wrapErr("gossip: stop memberlist", ml.Shutdown())
		}
		if err := g.persistLatest(); err != nil {
			g.closeErr = errors.Join(g.closeErr, err)
		}
		g.subs.close()
	})
	return g.closeErr
}

// closed reports whether Close was called.
func (g *Gossip) closed() bool {
	select {
	case <-g.stop:
		return true
	default:
		return false
	}
}

// Subscribe returns a channel that receives a signal after any change of
// ring membership or liveness, and a function to unsubscribe. Signals are
// coalesced and never block gossip: on a signal, re-read RingMembers, Members
// or Alive. The channel is closed by Close (and by the returned function).
func (g *Gossip) Subscribe() (<-chan struct{}, func()) { return g.subs.subscribe() }
