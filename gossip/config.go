package gossip

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Defaults of the cluster settings. They equal ring.DefaultN and
// ring.DefaultPartitions (gossip does not import ring; a test checks).
const (
	DefaultClusterName = "dynakv"
	DefaultN           = 3
	DefaultPartitions  = 1024
	DefaultGossipPort  = 7946
)

// maxIDLen bounds node ids so that metadata and broadcasts stay within a
// UDP packet.
const maxIDLen = 128

// validNodeID reports whether id can name a node: 1..maxIDLen bytes without
// NUL. A node refuses to start under any other id, and an entry a peer
// gossips for any other id is refused too.
func validNodeID(id string) bool {
	return id != "" && len(id) <= maxIDLen && !strings.ContainsRune(id, 0)
}

// Config configures a node's gossip. Start it from DefaultConfig (a LAN
// deployment) or TestConfig (fast in-process clusters).
type Config struct {
	// NodeID names this node, unique and stable across restarts (the data
	// folder remembers it). Required; at most 128 bytes, no NUL.
	NodeID string

	// BindAddr and BindPort are where gossip listens (UDP and TCP). Port 0
	// lets the OS choose; read it back with LocalAddr.
	BindAddr string
	BindPort int

	// AdvertiseAddr and AdvertisePort are how other nodes reach this one,
	// when that differs from the bind address (NAT, containers). Empty/0:
	// derived from the bind address.
	AdvertiseAddr string
	AdvertisePort int

	// HTTPAddr and RPCAddr are this node's client API and node-to-node
	// addresses, gossiped so every node can resolve an id to them.
	HTTPAddr string
	RPCAddr  string

	// ClusterName, N and Partitions are the cluster settings. Every node of
	// a cluster must have the same; a node with different ones is refused
	// at join (ErrSettingsMismatch).
	ClusterName string
	N           int
	Partitions  int

	// DataDir is the folder holding the persisted ring membership (file
	// MEMBERS). Empty means nothing is persisted: a restarted node forgets
	// the ring (only for tests).
	DataDir string

	// Join lists gossip addresses (host:port) of running nodes to join at
	// Start. A new node with no Join bootstraps a new cluster of one.
	Join []string

	// JoinTimeout is how long a new node keeps trying its Join addresses
	// before Start fails: nodes of a cluster started together (a compose
	// file, a script) come up in any order. Zero means
	// DefaultConfig().JoinTimeout; a refusal (other cluster settings) fails
	// at once.
	JoinTimeout time.Duration

	// RejoinInterval is how often the node tries to reach ring members it
	// does not see alive (memberlist forgets dead nodes; this is how a
	// cluster re-forms after restarts and partitions), and its Join
	// addresses while it sees nobody.
	RejoinInterval time.Duration

	// SecretKeys, if set, encrypt and authenticate every gossip message
	// with AES-GCM (memberlist's keyring): nodes without one of them can
	// neither read this node's gossip nor join it. The first encrypts what
	// this node sends; every one of them is tried on what it receives, so
	// a key is rotated without a split: add the new key second on every
	// node, then move it first on every node, then drop the old one. Each
	// 16, 24 or 32 bytes.
	SecretKeys [][]byte

	// Memberlist, if set, tunes the memberlist configuration after this
	// package filled it (timings, Transport, encryption). It must not
	// change Name, the delegates or the logger, which are set again after.
	Memberlist func(*memberlist.Config)

	// Logger receives this package's and memberlist's logs. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns a configuration for a LAN: memberlist's LAN timings
// (probe every 1s, push/pull every 30s, dead nodes forgotten after 30s),
// gossip on 0.0.0.0:7946, the default cluster settings, rejoin every 10s,
// Join addresses tried for 30s.
// NodeID, HTTPAddr, RPCAddr and DataDir remain to be set.
func DefaultConfig() Config {
	return Config{
		BindAddr:       "0.0.0.0",
		BindPort:       DefaultGossipPort,
		ClusterName:    DefaultClusterName,
		N:              DefaultN,
		Partitions:     DefaultPartitions,
		RejoinInterval: 10 * time.Second,
		JoinTimeout:    30 * time.Second,
	}
}

// TestConfig returns a configuration for in-process clusters on loopback:
// 127.0.0.1 with an OS-chosen port and FastTimings, so a dead node is
// detected in about a second and forgotten by memberlist soon after.
func TestConfig() Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.RejoinInterval = 200 * time.Millisecond
	c.Memberlist = FastTimings
	return c
}

// FastTimings sets memberlist timings for tests on one machine: probe every
// 100ms, gossip every 20ms, push/pull every 200ms, suspicion of about
// 200ms–1.2s, dead nodes forgotten after 500ms.
func FastTimings(c *memberlist.Config) {
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 50 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 200 * time.Millisecond
	c.SuspicionMult = 2
	c.GossipToTheDeadTime = 500 * time.Millisecond
	c.DeadNodeReclaimTime = 100 * time.Millisecond
	c.TCPTimeout = 500 * time.Millisecond
}

// withDefaults validates c and fills zero values.
func (c Config) withDefaults() (Config, error) {
	if !validNodeID(c.NodeID) {
		return c, fmt.Errorf("%w: NodeID must be 1..%d bytes without NUL, got %q", ErrInvalidConfig, maxIDLen, c.NodeID)
	}
	if c.ClusterName == "" {
		c.ClusterName = DefaultClusterName
	}
	if c.N == 0 {
		c.N = DefaultN
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.N < 1 || c.Partitions < 1 {
		return c, fmt.Errorf("%w: N (%d) and Partitions (%d) must be positive", ErrInvalidConfig, c.N, c.Partitions)
	}
	if c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		return c, fmt.Errorf("%w: ports must be 0..65535", ErrInvalidConfig)
	}
	for i, k := range c.SecretKeys {
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return c, fmt.Errorf("%w: SecretKeys[%d] is %d bytes; it must be 16, 24 or 32 (AES-128, -192 or -256)", ErrInvalidConfig, i, n)
		}
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = DefaultConfig().JoinTimeout
	}
	if c.RejoinInterval <= 0 {
		c.RejoinInterval = DefaultConfig().RejoinInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func (c Config) settings() settings {
	return settings{ClusterName: c.ClusterName, N: c.N, Partitions: c.Partitions}
}
