package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"dynakv/node"
)

func newServeCmd() *cobra.Command {
	cfg := node.DefaultConfig()
	var logs logFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run one dynakv node",
		Long: `Run one dynakv node. With no flags it starts a usable single node on
127.0.0.1:8080 with its data in ./dynakv-data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := logs.logger(os.Stderr)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			return serve(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ID, "id", defaultNodeID(), "the node's name in the cluster; must match the data folder's")
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "the node's data folder")
	f.StringVar(&cfg.HTTPAddr, "http", cfg.HTTPAddr, "client API listen address")
	f.StringVar(&cfg.TLSCertFile, "tls-cert", "", "PEM certificate chain: serve the client API over HTTPS (with --tls-key)")
	f.StringVar(&cfg.TLSKeyFile, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&cfg.PeerTLSCertFile, "peer-tls-cert", "", "PEM certificate chain this node presents to other nodes: node-to-node calls use mutual TLS (with --peer-tls-key and --peer-tls-ca, on every node)")
	f.StringVar(&cfg.PeerTLSKeyFile, "peer-tls-key", "", "PEM private key of --peer-tls-cert")
	f.StringVar(&cfg.PeerTLSCAFile, "peer-tls-ca", "", "PEM certificate authority that signed every node's --peer-tls-cert; peers it did not sign are refused")
	f.StringVar(&cfg.APITokenFile, "api-token-file", "", "file of API tokens, one per line: every request but /healthz and /metrics must send one as Authorization: Bearer TOKEN (read again when it changes)")
	f.StringVar(&cfg.GossipKey, "gossip-key", "", "encrypt gossip with this key, the same on every node: base64 of 16, 24 or 32 random bytes (head -c 32 /dev/urandom | base64); a comma-separated list rotates keys: the first encrypts, every one decrypts")
	f.StringVar(&cfg.GossipAddr, "gossip", cfg.GossipAddr, "gossip listen address (UDP and TCP)")
	f.StringVar(&cfg.RPCAddr, "rpc", "", "node-to-node listen address (default: the gossip host, gossip port + 1)")
	f.StringVar(&cfg.Advertise, "advertise", "", "the host other nodes reach this one at, when it differs from the bind host")
	f.StringSliceVar(&cfg.Join, "join", nil, "gossip addresses (host:port,...) of running nodes to join")
	f.DurationVar(&cfg.JoinTimeout, "join-timeout", 30*time.Second, "how long a new node keeps trying its --join addresses before it gives up (nodes started together come up in any order)")
	f.StringVar(&cfg.ClusterName, "cluster-name", cfg.ClusterName, "cluster name (a cluster setting: nodes of other clusters are refused)")
	f.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "N: replicas per key (a cluster setting: every node must agree)")
	f.BoolVar(&cfg.Sync, "sync", cfg.Sync, "fsync every write before acknowledging it (false trades durability on power loss for speed)")
	f.DurationVar(&cfg.SyncGroupWindow, "sync-group-window", cfg.SyncGroupWindow, "least time between two fsyncs of the write-ahead log: writes meanwhile share the next one (0: sync each at once, lowest latency at light load)")
	f.DurationVar(&cfg.DefaultTimeout, "timeout", cfg.DefaultTimeout, "how long a coordinator waits for replicas when a request names no timeout")
	f.Int64Var(&cfg.MaxValueBytes, "max-value-bytes", cfg.MaxValueBytes, "largest value accepted; larger PUTs get 413")
	f.Int64Var(&cfg.MaxInflightBytes, "max-inflight-bytes", cfg.MaxInflightBytes, "most bytes of PUT bodies held at once; past it a PUT waits up to its timeout, then gets 503 overloaded (negative: no bound)")
	f.IntVar(&cfg.MaxSiblings, "max-siblings", cfg.MaxSiblings, "a write that would give a key more siblings than this is refused with 409")
	f.IntVar(&cfg.WarnSiblings, "warn-siblings", cfg.WarnSiblings, "keys with more siblings than this log a warning and count in dynakv_sibling_warnings_total")
	f.Int64Var(&cfg.MaxObjectBytes, "max-object-bytes", cfg.MaxObjectBytes, "a write that would leave a key's siblings holding more value bytes than this is refused with 413")
	f.Int64Var(&cfg.WarnObjectBytes, "warn-object-bytes", cfg.WarnObjectBytes, "keys whose siblings hold more value bytes than this log a warning and count in dynakv_object_size_warnings_total (0: never)")
	f.Int64Var(&cfg.CacheBytes, "cache", cfg.CacheBytes, "storage block cache in bytes")
	f.Int64Var(&cfg.RowCacheBytes, "row-cache", cfg.RowCacheBytes, "cache of recently read and written values in bytes, in front of the block cache (0: none)")
	f.DurationVar(&cfg.HintWindow, "hint-window", cfg.HintWindow, "hints for a down node older than this are dropped (anti-entropy repairs those keys)")
	f.Int64Var(&cfg.MaxHintBytes, "max-hint-bytes", cfg.MaxHintBytes, "most bytes of hints kept for one down node; past it, writes for that node are not hinted")
	f.Float64Var(&cfg.HintRate, "hint-rate", cfg.HintRate, "hints per second delivered to a node that came back (0: unlimited)")
	f.DurationVar(&cfg.AAEInterval, "aae-interval", cfg.AAEInterval, "anti-entropy: time between two comparisons of a partition with another replica, jittered (0: only on demand, dynakv repair)")
	f.Float64Var(&cfg.AAERate, "aae-rate", cfg.AAERate, "anti-entropy: keys per second repaired or reaped at most (0: unlimited)")
	f.Float64Var(&cfg.AAEScanRate, "aae-scan-rate", cfg.AAEScanRate, "anti-entropy: keys per second read from storage to build hash trees and list keys (0: unlimited)")
	f.DurationVar(&cfg.TombstoneGrace, "tombstone-grace", cfg.TombstoneGrace, "a deleted key's tombstone is kept at least this long, then removed once every replica holds it; must exceed --hint-window")
	f.StringVar(&cfg.DiskFailurePolicy, "disk-failure-policy", cfg.DiskFailurePolicy, "once a write to the disk failed: stop (stop gossiping so peers route around the node, stay up answering 503 on /healthz) or die (exit with an error, for a supervisor to restart)")
	f.Var(mibPerSecond{&cfg.TransferRate}, "transfer-rate", "MiB per second this node streams to new owners after a join, leave or remove (0: unlimited)")
	f.BoolVar(&cfg.Pprof, "pprof", false, "serve Go's profiler under /debug/pprof/ on the HTTP address")
	f.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", "", "send OpenTelemetry traces to this OTLP/HTTP collector URL (default: off, unless OTEL_EXPORTER_OTLP_ENDPOINT is set)")
	logs.register(cmd, "info")
	return cmd
}

// serve runs a node until ctx ends (SIGINT or SIGTERM), then drains it.
func serve(ctx context.Context, cfg node.Config) error {
	n, err := node.StartContext(ctx, cfg) // Ctrl-C stops a join still retrying
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "dynakv node %s serving %s (gossip %s, data in %s)\n", n.ID(), n.APIURL(), n.GossipAddr(), cfg.DataDir)
	select {
	case <-ctx.Done():
		cfg.Logger.Info("shutting down: draining requests", "grace", shutdownGrace)
	case <-n.Done():
		if err := n.Err(); err != nil {
			cfg.Logger.Error("node stopped serving", "err", err)
			n.Close()
			return err
		}
		cfg.Logger.Info("node left the cluster; exiting")
	}
	drain, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return n.Shutdown(drain)
}

// shutdownGrace bounds how long requests in flight may take to finish once a
// node is asked to stop.
const shutdownGrace = 10 * time.Second

// defaultNodeID names a node after its host, so that nodes started on
// different machines without --id do not collide.
func defaultNodeID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "n1"
}

// logFlags are the logging flags every server command takes.
type logFlags struct {
	format string
	level  string
}

func (l *logFlags) register(cmd *cobra.Command, defaultLevel string) {
	cmd.Flags().StringVar(&l.format, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&l.level, "log-level", defaultLevel, "log level: debug, info, warn or error")
}

func (l *logFlags) logger(w *os.File) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", l.format)
}

// mibPerSecond is a flag in MiB per second for a field in bytes per second.
type mibPerSecond struct{ bytes *float64 }

func (m mibPerSecond) String() string {
	if m.bytes == nil {
		return "0"
	}
	return strconv.FormatFloat(*m.bytes/(1<<20), 'g', -1, 64)
}

func (m mibPerSecond) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Errorf("%q: want a number of MiB per second, 0 for unlimited", s)
	}
	*m.bytes = v * (1 << 20)
	return nil
}

func (mibPerSecond) Type() string { return "MiB/s" }
