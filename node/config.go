package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/memberlist"
	"go.opentelemetry.io/otel/trace"

	"dynakv/antientropy"
	"dynakv/api"
	"dynakv/gossip"
	"dynakv/hints"
	"dynakv/ring"
	"dynakv/storage"
)

// Config configures a node. DefaultConfig returns a usable single node; every
// field documents the flag that sets it in `dynakv serve`.
type Config struct {
	ID      string // --id: the node's name in the cluster; must match the data folder
	DataDir string // --data: the node's data folder

	HTTPAddr   string   // --http: client API listen address
	GossipAddr string   // --gossip: gossip listen address (UDP and TCP)
	RPCAddr    string   // --rpc: node-to-node listen address; empty: the gossip host, gossip port + 1
	Advertise  string   // --advertise: the host other nodes reach this one at, when it differs from the bind host
	Join       []string // --join: gossip addresses of running nodes
	// JoinTimeout (--join-timeout) is how long a new node keeps trying
	// its Join addresses; 0: gossip's default (30s).
	JoinTimeout time.Duration
	// TLSCertFile and TLSKeyFile (--tls-cert, --tls-key) make the client
	// API HTTPS, with this certificate chain and private key (PEM files,
	// read again when they change); both or neither. Node-to-node traffic
	// is not encrypted by them.
	TLSCertFile string
	TLSKeyFile  string
	// PeerTLSCertFile, PeerTLSKeyFile and PeerTLSCAFile (--peer-tls-cert,
	// --peer-tls-key, --peer-tls-ca) encrypt the node-to-node calls with
	// mutual TLS: this node presents the certificate and accepts only
	// peers whose certificates the authority signed. All three or none;
	// every node of a cluster must agree.
	PeerTLSCertFile string
	PeerTLSKeyFile  string
	PeerTLSCAFile   string
	// APITokenFile (--api-token-file) makes the client API ask every
	// request (but /healthz and /metrics) for a bearer token among the
	// file's, one per line; the file is read again when it changes.
	APITokenFile string
	// GossipKey (--gossip-key) encrypts gossip: base64 of 16, 24 or 32
	// random bytes (AES-128, -192 or -256), the same on every node; nodes
	// without it can neither read the cluster's gossip nor join it. A
	// comma-separated list rotates keys: the first encrypts, all decrypt
	// (see gossip.Config.SecretKeys).
	GossipKey string

	ClusterName string // --cluster-name: nodes of different clusters refuse each other
	// Cluster settings: every node of a cluster must agree on them.
	Replicas   int // --replicas: N, replicas per key
	Partitions int // partitions of the ring, fixed at cluster creation

	Sync bool // --sync: fsync every write before acknowledging it
	// SyncGroupWindow (--sync-group-window) is the least time between two
	// WAL fsyncs, so that more writes share one; 0: sync at once.
	SyncGroupWindow time.Duration
	DefaultTimeout  time.Duration // --timeout: how long a coordinator waits when a request names no timeout
	MaxTimeout      time.Duration // the largest timeout a request may ask for
	MaxValueBytes   int64         // --max-value-bytes: larger values are refused with 413
	// MaxInflightBytes (--max-inflight-bytes) bounds the bytes of PUT
	// bodies held at once; past it a PUT waits up to its timeout, then gets
	// 503 overloaded. At least MaxValueBytes; negative: no bound.
	MaxInflightBytes int64
	MaxSiblings      int // --max-siblings: a write that would add one more is refused with 409
	WarnSiblings     int // --warn-siblings: keys past this log a warning and count a metric
	// MaxObjectBytes (--max-object-bytes) refuses with 413 a write that
	// would leave a key's siblings holding more value bytes together than
	// this; at least MaxValueBytes. WarnObjectBytes (--warn-object-bytes):
	// keys past it log a warning and count a metric; 0: never.
	MaxObjectBytes  int64
	WarnObjectBytes int64
	CacheBytes      int64 // --cache: pebble block cache
	RowCacheBytes   int64 // --row-cache: recently read and written values; 0: none

	HintWindow   time.Duration // --hint-window: hints older than this are dropped (anti-entropy covers them)
	MaxHintBytes int64         // --max-hint-bytes: a fallback keeps at most this much for one down node
	HintRate     float64       // --hint-rate: hints per second delivered to a returning node

	// Anti-entropy (package antientropy).
	AAEInterval    time.Duration // --aae-interval: between two exchanges of a partition with another primary; 0: only on demand
	AAERate        float64       // --aae-rate: keys per second exchanges swap and reaps delete; 0: unlimited
	AAEScanRate    float64       // --aae-scan-rate: keys per second tree rebuilds and listings read; 0: unlimited
	TombstoneGrace time.Duration // --tombstone-grace: a tombstone every primary holds is deleted this long after the delete

	// DiskFailurePolicy is what the node does once a write to its disk
	// failed (--disk-failure-policy): DiskFailureStop or DiskFailureDie.
	DiskFailurePolicy string

	// TransferRate (--transfer-rate, in MiB/s on the command line) caps the
	// bytes per second this node streams to new owners after a ring change
	// or during its leave; 0: unlimited.
	TransferRate float64

	// RebalanceInterval is how often the node checks, besides after every
	// ring change and every write it took for a partition it does not own,
	// that it holds no data the ring gives to others; 0: 30 s. Only tests
	// change it (to show that the other triggers alone move the data).
	RebalanceInterval time.Duration

	Pprof bool // --pprof: serve Go's profiler under /debug/pprof/

	// OTLPEndpoint (--otlp-endpoint) sends OpenTelemetry traces to this
	// OTLP/HTTP collector URL; empty: only if OTEL_EXPORTER_OTLP_ENDPOINT is
	// set. TracerProvider, if set, is used instead (tests).
	OTLPEndpoint   string
	TracerProvider trace.TracerProvider

	// GossipTuning, if set, adjusts memberlist's timings (tests and the
	// local dev cluster use gossip.FastTimings).
	GossipTuning func(*memberlist.Config)

	// StorageFS, if set, is the file system the node's storage keeps its
	// files on, instead of the operating system's: tests wrap it to make
	// disk writes fail.
	StorageFS vfs.FS

	Logger *slog.Logger
}

// What a node does once a write to its disk failed, as Cassandra's
// commit_failure_policy. Either way the failed write is not acknowledged,
// the node's storage serves nothing more, and a restart on a working disk
// brings the node back with every write it acknowledged.
const (
	// DiskFailureStop stops gossip (peers see the node dead and route
	// around it) and keeps the process up for inspection: /healthz and
	// data requests answer 503, /metrics shows dynakv_storage_failed 1.
	DiskFailureStop = "stop"
	// DiskFailureDie stops the node: `dynakv serve` exits with an error,
	// for a supervisor that restarts processes that exit.
	DiskFailureDie = "die"
)

// DefaultTransferRate is 100 MiB/s: a join or leave finishes in minutes per
// GiB while leaving the disk and network most of their room for client
// requests (Cassandra's stream throughput cap plays the same role).
const DefaultTransferRate = 100 << 20

// The object size limits are Riak's (warn_object_size, max_object_size): a
// key's siblings hold at most 50 MiB of values, about six values of the
// largest size, so one GET never answers with more; past 5 MiB a key logs
// a warning.
const (
	DefaultMaxObjectBytes  = 50 << 20
	DefaultWarnObjectBytes = 5 << 20
)

// DefaultConfig returns the configuration of a single node on loopback with
// its data in ./dynakv-data: what `dynakv serve` runs with no flags.
func DefaultConfig() Config {
	return Config{
		ID:               "n1",
		DataDir:          "dynakv-data",
		HTTPAddr:         "127.0.0.1:8080",
		GossipAddr:       "127.0.0.1:7946",
		ClusterName:      gossip.DefaultClusterName,
		Replicas:         3,
		Partitions:       ring.DefaultPartitions,
		Sync:             true,
		SyncGroupWindow:  storage.DefaultSyncGroupWindow,
		DefaultTimeout:   2 * time.Second,
		MaxTimeout:       time.Minute,
		MaxValueBytes:    8 << 20,
		MaxInflightBytes: api.DefaultMaxInflightBytes,
		MaxSiblings:      100,
		WarnSiblings:     25,
		MaxObjectBytes:   DefaultMaxObjectBytes,
		WarnObjectBytes:  DefaultWarnObjectBytes,
		CacheBytes:       storage.DefaultCacheBytes,
		RowCacheBytes:    storage.DefaultRowCacheBytes,
		HintWindow:       hints.DefaultConfig().Window,
		MaxHintBytes:     hints.DefaultConfig().MaxPendingBytes,
		HintRate:         hints.DefaultConfig().DeliveryRate,
		AAEInterval:      antientropy.DefaultInterval,
		AAERate:          antientropy.DefaultRate,
		AAEScanRate:      antientropy.DefaultScanRate,
		TombstoneGrace:   antientropy.DefaultTombstoneGrace,

		DiskFailurePolicy: DiskFailureStop,
		TransferRate:      DefaultTransferRate,
	}
}

// validate rejects settings a node cannot run with, naming the flag to fix.
func (c *Config) validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("--id is empty: give the node a name"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data is empty: name a folder for the node's data"))
	}
	if c.Replicas < 1 {
		errs = append(errs, fmt.Errorf("--replicas is %d: use 1 or more", c.Replicas))
	}
	if c.TransferRate < 0 {
		errs = append(errs, fmt.Errorf("--transfer-rate is negative: use 0 for unlimited or a rate in MiB/s"))
	}
	if c.JoinTimeout < 0 {
		errs = append(errs, fmt.Errorf("--join-timeout %v is negative", c.JoinTimeout))
	}
	if c.CacheBytes < 0 {
		errs = append(errs, fmt.Errorf("--cache %d is negative: give the block cache size in bytes (0: the default)", c.CacheBytes))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, fmt.Errorf("--tls-cert %q and --tls-key %q go together: give both PEM files to serve the API over HTTPS, or neither for plain HTTP", c.TLSCertFile, c.TLSKeyFile))
	}
	if set := (c.PeerTLSCertFile != "") || (c.PeerTLSKeyFile != "") || (c.PeerTLSCAFile != ""); set && (c.PeerTLSCertFile == "" || c.PeerTLSKeyFile == "" || c.PeerTLSCAFile == "") {
		errs = append(errs, fmt.Errorf("--peer-tls-cert %q, --peer-tls-key %q and --peer-tls-ca %q go together: give all three PEM files to encrypt node-to-node calls, or none", c.PeerTLSCertFile, c.PeerTLSKeyFile, c.PeerTLSCAFile))
	}
	if _, err := c.gossipKeys(); err != nil {
		errs = append(errs, err)
	}
	if c.DiskFailurePolicy != DiskFailureStop && c.DiskFailurePolicy != DiskFailureDie {
		errs = append(errs, fmt.Errorf("--disk-failure-policy %q: use %s (stop gossiping, stay up answering 503) or %s (exit)", c.DiskFailurePolicy, DiskFailureStop, DiskFailureDie))
	}
	if c.SyncGroupWindow < 0 {
		errs = append(errs, fmt.Errorf("--sync-group-window %v is negative: give a duration such as 500us, or 0 to sync each write at once", c.SyncGroupWindow))
	}
	if c.RowCacheBytes < 0 {
		errs = append(errs, fmt.Errorf("--row-cache %d is negative: give its size in bytes, or 0 to turn the row cache off", c.RowCacheBytes))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions is %d: use 1 or more", c.Partitions))
	}
	if c.DefaultTimeout <= 0 || c.MaxTimeout < c.DefaultTimeout {
		errs = append(errs, fmt.Errorf("--timeout %v must be positive and at most %v", c.DefaultTimeout, c.MaxTimeout))
	}
	if c.MaxValueBytes < 1 {
		errs = append(errs, fmt.Errorf("--max-value-bytes is %d: use 1 or more", c.MaxValueBytes))
	} else if c.MaxInflightBytes >= 0 && c.MaxInflightBytes < c.MaxValueBytes {
		errs = append(errs, fmt.Errorf("--max-inflight-bytes %d is below --max-value-bytes %d: a value of the largest size could never be taken; raise it, or give a negative size for no bound", c.MaxInflightBytes, c.MaxValueBytes))
	}
	if c.MaxObjectBytes < c.MaxValueBytes || c.WarnObjectBytes < 0 {
		errs = append(errs, fmt.Errorf("--max-object-bytes %d must be at least --max-value-bytes %d (else a value of the largest size could never be written) and --warn-object-bytes %d at least 0", c.MaxObjectBytes, c.MaxValueBytes, c.WarnObjectBytes))
	}
	if c.MaxSiblings < 1 || c.WarnSiblings < 0 {
		errs = append(errs, fmt.Errorf("--max-siblings %d must be at least 1 and --warn-siblings %d at least 0", c.MaxSiblings, c.WarnSiblings))
	}
	errs = append(errs, c.validateAntiEntropy()...)
	if _, _, err := net.SplitHostPort(c.GossipAddr); err != nil {
		errs = append(errs, fmt.Errorf("--gossip %q: want host:port", c.GossipAddr))
	}
	if _, port, err := net.SplitHostPort(c.GossipAddr); err == nil && c.Advertise != "" && port == "0" {
		errs = append(errs, fmt.Errorf("--advertise needs a fixed --gossip port, not %q: other nodes must know where to reach this one", c.GossipAddr))
	}
	if c.RPCAddr == "" && len(errs) == 0 {
		host, port, _ := net.SplitHostPort(c.GossipAddr)
		p, err := strconv.Atoi(port)
		if err != nil || p == 0 {
			errs = append(errs, fmt.Errorf("--rpc is empty and --gossip %q has no fixed port to derive it from: set --rpc", c.GossipAddr))
		} else {
			c.RPCAddr = net.JoinHostPort(host, strconv.Itoa(p+1))
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return errors.Join(errs...)
}
