package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"dynakv/antientropy"
	"dynakv/api"
	"dynakv/gossip"
	"dynakv/hints"
	"dynakv/replica"
	"dynakv/reqctx"
	"dynakv/ring"
	"dynakv/storage"
	"dynakv/transport"
	"dynakv/versioning"
)

// Node is one running dynakv node.
type Node struct {
	cfg    Config
	logger *slog.Logger

	store       *storage.Store
	local       *replica.Local
	hints       *hints.Manager
	gossip      *gossip.Gossip
	placement   *placement
	coordinator *replica.Coordinator
	lister      *replica.Lister         // GET /keys
	certs       map[string]*certificate // TLS certificates in use, by use (api, peer); set before serving
	peers       *transport.Client
	rpcServer   *transport.Server

	httpListener net.Listener
	rpcListener  net.Listener
	httpServer   *http.Server

	// stopped is closed when the node stops serving on its own: its HTTP or
	// RPC server failed, or it left the cluster. err says why.
	stopped  chan struct{}
	stopOnce sync.Once
	stopErr  error

	rebalance     *rebalancer
	transfers     transferStats
	transferLimit *rate.Limiter

	// Leaving (see handOffAndLeave).
	leaveState leaveState
	leaveRing  atomic.Pointer[ring.Ring] // the ring without this node, once a leave started
	changes    changeLog
	writes     writeGate

	antiEntropy *antientropy.Manager

	stopTracing func(context.Context) error

	ctx     context.Context // ends when the node shuts down
	cancel  context.CancelFunc
	leaving atomic.Bool

	wg        sync.WaitGroup // the node's own goroutines
	closeOnce sync.Once
	closeErr  error
}

// Start opens the node's data folder, starts its parts and begins serving.
// On error everything already started is stopped again.
func Start(cfg Config) (*Node, error) { return StartContext(context.Background(), cfg) }

// StartContext is Start, except that ctx ending stops the start while it
// still waits for its --join addresses (an interrupted `dynakv serve`).
func StartContext(ctx context.Context, cfg Config) (_ *Node, err error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	// Every log line about a client request carries its request_id.
	logger := slog.New(reqctx.Handler(cfg.Logger.Handler())).With("node", cfg.ID)
	n := &Node{cfg: cfg, logger: logger, stopped: make(chan struct{}), transferLimit: newTransferLimiter(cfg.TransferRate)}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			n.Close()
			err = fmt.Errorf("start node %s: %w", cfg.ID, err)
		}
	}()

	// Certificates first: a node that cannot serve what it was asked to
	// touches no data.
	apiTLS, apiCerts, err := cfg.apiTLS(logger)
	if err != nil {
		return nil, err
	}
	peerServerTLS, peerClientTLS, peerRoots, peerCerts, err := cfg.peerTLS(logger)
	if err != nil {
		return nil, err
	}
	var authorize func(string) bool
	if cfg.APITokenFile != "" {
		tokens, err := loadAPITokens(cfg.APITokenFile, logger)
		if err != nil {
			return nil, err
		}
		authorize = func(token string) bool { return acceptToken(tokens, token) }
	}
	n.certs = map[string]*certificate{}
	if apiCerts != nil {
		n.certs["api"] = apiCerts
	}
	if peerCerts != nil {
		n.certs["peer"] = peerCerts
	}
	sopts := storage.DefaultOptions(cfg.DataDir, cfg.ID)
	sopts.Sync = cfg.Sync
	sopts.SyncGroupWindow = cfg.SyncGroupWindow
	sopts.CacheBytes = cfg.CacheBytes
	sopts.RowCacheBytes = cfg.RowCacheBytes
	sopts.Logger = n.logger
	sopts.FS = cfg.StorageFS
	if n.store, err = storage.Open(sopts); err != nil {
		return nil, err
	}
	// Listen before gossiping: gossip announces the addresses, and a port 0
	// must be resolved to the real one first.
	if n.httpListener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listen for HTTP on %s: %w", cfg.HTTPAddr, err)
	}
	if n.rpcListener, err = net.Listen("tcp", cfg.RPCAddr); err != nil {
		return nil, fmt.Errorf("listen for node-to-node calls on %s: %w", cfg.RPCAddr, err)
	}

	var tp trace.TracerProvider
	if tp, n.stopTracing, err = n.tracerProvider(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := replica.NewMetrics(reg)
	trees, err := n.newTrees()
	if err != nil {
		return nil, err
	}
	n.local = replica.NewLocal(replica.LocalConfig{
		Store:           n.store,
		MaxSiblings:     cfg.MaxSiblings,
		WarnSiblings:    cfg.WarnSiblings,
		MaxObjectBytes:  cfg.MaxObjectBytes,
		WarnObjectBytes: cfg.WarnObjectBytes,
		Logger:          n.logger,
		Metrics:         metrics,
		OnChange: func(partition uint32, key []byte, before, after *versioning.Set) {
			trees.OnChange(partition, key, before, after)
			n.changes.record(partition, key)
			if after != nil && n.rebalance != nil { // nil until the node serves (see newRebalancer)
				n.rebalance.strayWrite(partition)
			}
		},
		Admit: n.writes.admit,
	})

	if err := n.startGossip(ctx); err != nil {
		return nil, err
	}
	// Subscribed before the first ring is built: a member that joins
	// between that build and watchMembership (peers join while this node
	// starts) must still reach the ring. Subscribing later lost such a
	// change, and the node routed without the member until the next one.
	membership, unsubscribe := n.gossip.Subscribe()
	n.placement = &placement{self: cfg.ID, cfg: ring.Config{Partitions: cfg.Partitions, N: cfg.Replicas}, joining: n.gossip.Newcomer()}
	if err := n.rebuildRing(); err != nil {
		unsubscribe()
		return nil, err
	}
	if n.peers, err = transport.NewClient(transport.ClientConfig{Resolver: transport.ResolverFunc(n.rpcAddrOf), Logger: n.logger, TracerProvider: tp, Registerer: reg, TLS: peerClientTLS, RootCAs: peerRoots}); err != nil {
		return nil, err
	}
	hcfg := hints.DefaultConfig()
	hcfg.Store, hcfg.Transport, hcfg.Liveness = n.store, n.peers, n.gossip
	hcfg.Reroute = (*hintRoutes)(n)
	hcfg.Window, hcfg.MaxPendingBytes, hcfg.DeliveryRate = cfg.HintWindow, cfg.MaxHintBytes, cfg.HintRate
	hcfg.Logger, hcfg.Registerer = n.logger, reg
	if n.hints, err = hints.New(hcfg); err != nil {
		return nil, err
	}
	n.coordinator, err = replica.New(replica.Config{
		Self:           cfg.ID,
		N:              cfg.Replicas,
		DefaultTimeout: cfg.DefaultTimeout,
		Local:          n.local,
		Placement:      n.placement,
		Liveness:       n.gossip,
		Transport:      n.peers,
		Hints:          n.hints,
		Logger:         n.logger,
		Metrics:        metrics,
		TracerProvider: tp,
	})
	if err != nil {
		return nil, err
	}
	n.lister, err = replica.NewLister(replica.ListerConfig{
		Self:      cfg.ID,
		Local:     n.local,
		Placement: n.placement,
		Liveness:  n.gossip,
		Peers:     n.peers,
	})
	if err != nil {
		return nil, err
	}
	if err := n.newAntiEntropy(trees, reg); err != nil {
		return nil, err
	}
	n.rpcServer = transport.NewServer(transport.ServerConfig{
		Handler:        replica.PeerService{Local: n.local, Coordinator: n.coordinator, Hints: n.hints, AntiEntropy: n.antiEntropy, Tracer: tracer(tp, "dynakv/replica")},
		Logger:         n.logger,
		TracerProvider: tp,
		TLS:            peerServerTLS,
	})

	handler, err := api.NewHandler(api.Config{
		KV:               n.coordinator,
		Routes:           n.routes(),
		MaxValueBytes:    cfg.MaxValueBytes,
		MaxInflightBytes: cfg.MaxInflightBytes,
		DefaultTimeout:   cfg.DefaultTimeout,
		MaxTimeout:       cfg.MaxTimeout,
		Registerer:       reg,
		Gatherer:         reg,
		Logger:           n.logger,
		TracerProvider:   tp,
		Health:           n.store.Err,
		Authorize:        authorize,
	})
	if err != nil {
		return nil, err
	}
	n.httpServer = api.NewServer(cfg.HTTPAddr, handler, n.logger)
	n.httpServer.TLSConfig = apiTLS

	reg.MustRegister(newNodeCollector(n))
	n.newRebalancer()
	n.goServe("RPC", func() error { return n.rpcServer.Serve(n.rpcListener) })
	n.goServe("HTTP", func() error {
		if apiTLS != nil {
			return n.httpServer.ServeTLS(n.httpListener, "", "")
		}
		return n.httpServer.Serve(n.httpListener)
	})
	n.startRebalancer()
	n.watchMembership(membership, unsubscribe)
	n.watchStorage()
	n.hints.Start()
	n.antiEntropy.Start()
	n.logger.Info("node started", "http", n.HTTPAddr(), "gossip", n.gossip.LocalAddr(), "rpc", n.rpcListener.Addr().String(),
		"data", cfg.DataDir, "incarnation", n.store.Identity().Incarnation, "replicas", cfg.Replicas,
		"ring", n.placement.ring().Members(), "sync", cfg.Sync)
	return n, nil
}

func (n *Node) startGossip(ctx context.Context) error {
	gcfg := gossip.DefaultConfig()
	host, port, err := splitHostPort(n.cfg.GossipAddr)
	if err != nil {
		return fmt.Errorf("--gossip: %w", err)
	}
	gcfg.NodeID = n.cfg.ID
	gcfg.BindAddr, gcfg.BindPort = host, port
	if n.cfg.Advertise != "" {
		// Other nodes reach this one at the advertised host, on the port
		// gossip binds (a fixed one: validate refuses port 0 with --advertise).
		gcfg.AdvertiseAddr, gcfg.AdvertisePort = n.cfg.Advertise, port
	}
	gcfg.HTTPAddr = n.advertised(n.httpListener.Addr())
	gcfg.RPCAddr = n.advertised(n.rpcListener.Addr())
	gcfg.ClusterName, gcfg.N, gcfg.Partitions = n.cfg.ClusterName, n.cfg.Replicas, n.cfg.Partitions
	gcfg.DataDir = n.cfg.DataDir
	gcfg.Join = n.cfg.Join
	gcfg.JoinTimeout = n.cfg.JoinTimeout
	gcfg.SecretKeys, _ = n.cfg.gossipKeys() // checked by validate
	gcfg.Memberlist = n.cfg.GossipTuning
	gcfg.Logger = n.logger
	n.gossip, err = gossip.StartContext(ctx, gcfg)
	return err
}

// advertised is the address other nodes reach a listener at: the advertise
// host when one is set, else the bound host.
func (n *Node) advertised(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if n.cfg.Advertise != "" {
		host = n.cfg.Advertise
	}
	return net.JoinHostPort(host, port)
}

func (n *Node) rpcAddrOf(id string) (string, bool) {
	m, ok := n.gossip.Node(id)
	if !ok || m.RPCAddr == "" {
		return "", false
	}
	return m.RPCAddr, true
}

// rebuildRing installs the ring of the current ring membership if it changed.
func (n *Node) rebuildRing() error {
	members := n.gossip.RingMembers()
	if cur := n.placement.ring(); cur != nil && slices.Equal(cur.Members(), members) {
		return nil
	}
	r, err := ring.New(members, ring.Config{Partitions: n.cfg.Partitions, N: n.cfg.Replicas})
	if err != nil {
		return fmt.Errorf("build ring of %v: %w", members, err)
	}
	n.placement.change(r)
	n.logger.Info("ring changed", "members", members)
	return nil
}

// watchMembership rebuilds the ring whenever gossip reports a change on
// changes, a subscription made before the first ring was built. It stops
// when gossip closes the subscription.
func (n *Node) watchMembership(changes <-chan struct{}, unsubscribe func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer unsubscribe()
		for range changes {
			if err := n.rebuildRing(); err != nil {
				n.logger.Error("keeping the previous ring", "err", err)
			}
			n.hints.Notify() // a node may be back: deliver what it missed
			n.rebalance.ringChanged()
		}
	}()
}

// watchStorage acts on Config.DiskFailurePolicy once a write to the disk
// failed (the store then refuses every read and write; see
// storage.ErrFailed). "stop", as Cassandra's commit_failure_policy: it stops
// gossip, so peers see this node down and route around it, writing hints
// for it through fallbacks, while it stays up for inspection, answering
// 503 on /healthz and to every data request. "die": the node stops (Done,
// with Err wrapping storage.ErrFailed). Either way it stays in the ring;
// a restart on a working disk brings it back.
func (n *Node) watchStorage() {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		select {
		case <-n.store.Failed():
		case <-n.ctx.Done():
			return
		}
		if n.cfg.DiskFailurePolicy == DiskFailureDie {
			n.stop(fmt.Errorf("a write to the disk failed (--disk-failure-policy die); restart the node once the disk works: %w", n.store.Err()))
			return
		}
		n.logger.Error("a write to the disk failed: this node serves no data and stops gossiping so its peers route around it; restart it once the disk works",
			"err", n.store.Err())
		if err := n.gossip.Close(); err != nil {
			n.logger.Warn("stop gossip after the storage failure", "err", err)
		}
	}()
}

func (n *Node) goServe(what string, serve func() error) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.stop(fmt.Errorf("%s server: %w", what, err))
		}
	}()
}

// stop records why the node stopped serving on its own and signals Done.
func (n *Node) stop(err error) {
	n.stopOnce.Do(func() {
		n.stopErr = err
		close(n.stopped)
	})
}

// routes are the HTTP routes the node serves next to /kv/.
func (n *Node) routes() []api.Route {
	routes := api.ClusterRoutes((*clusterView)(n), n.logger)
	routes = append(routes, api.StatusRoutes((*statusView)(n))...)
	routes = append(routes, api.RepairRoutes((*repairView)(n), n.logger)...)
	routes = append(routes, api.KeysRoute(n.lister, n.cfg.MaxTimeout, n.logger))
	routes = append(routes, api.BackupRoutes(backupView{n.lister, n.coordinator, n.placement}, api.BackupConfig{MaxTimeout: n.cfg.MaxTimeout, Logger: n.logger})...)
	if n.cfg.Pprof {
		routes = append(routes, pprofRoutes()...)
	}
	return routes
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.ID }

// HTTPAddr is the address the client API listens on (with the port the
// system chose when the configured port was 0).
func (n *Node) HTTPAddr() string { return n.httpListener.Addr().String() }

// APIURL is the client API's base URL: https when the node serves TLS.
func (n *Node) APIURL() string {
	if n.cfg.TLSCertFile != "" {
		return "https://" + n.HTTPAddr()
	}
	return "http://" + n.HTTPAddr()
}

// GossipAddr is the address other nodes join this one at.
func (n *Node) GossipAddr() string { return n.gossip.LocalAddr() }

// Done is closed when the node stopped serving on its own: a server failed,
// or the node left the cluster. Err then says why (nil after a leave).
func (n *Node) Done() <-chan struct{} { return n.stopped }

// Err is why the node stopped serving on its own; valid after Done.
func (n *Node) Err() error { return n.stopErr }

// Close stops the node; see Shutdown.
func (n *Node) Close() error { return n.Shutdown(context.Background()) }

// Shutdown stops the node without leaving the cluster (peers see it down and
// keep it in the ring): it stops accepting requests, lets the ones in flight
// finish (bounded by ctx), stops gossip and background work, and closes
// storage. It returns only when everything has stopped.
func (n *Node) Shutdown(ctx context.Context) error {
	n.closeOnce.Do(func() {
		n.cancel()
		var errs []error
		if n.httpServer != nil {
			if err := n.httpServer.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop HTTP server: %w", err))
				n.httpServer.Close()
			}
		} else if n.httpListener != nil {
			n.httpListener.Close()
		}
		// Peers' calls (forwarded writes among them) end before the
		// coordinator they use stops.
		if n.rpcServer != nil {
			n.rpcServer.Close()
		} else if n.rpcListener != nil {
			n.rpcListener.Close()
		}
		if n.coordinator != nil {
			n.coordinator.Close()
		}
		if n.hints != nil {
			n.hints.Close()
		}
		if n.antiEntropy != nil {
			n.antiEntropy.Close() // before storage: it scans and merges
		}
		if n.peers != nil {
			if err := n.peers.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close peer connections: %w", err))
			}
		}
		if n.gossip != nil {
			if err := n.gossip.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop gossip: %w", err))
			}
		}
		n.wg.Wait()
		if n.stopTracing != nil {
			if err := n.stopTracing(ctx); err != nil {
				errs = append(errs, fmt.Errorf("flush traces: %w", err))
			}
		}
		if n.store != nil {
			if err := n.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close storage: %w", err))
			}
		}
		n.closeErr = errors.Join(errs...)
		if n.closeErr == nil {
			n.logger.Info("node stopped")
		}
	})
	return n.closeErr
}

// tracer returns tp's tracer of name, nil when tracing is off.
func tracer(tp trace.TracerProvider, name string) trace.Tracer {
	if tp == nil {
		return nil
	}
	return tp.Tracer(name)
}
