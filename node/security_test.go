package node_test

import (
	"context"
	"testing"
	"time"

	"dynakv/client"
	"dynakv/gossip"
	"dynakv/internal/testutil"
	"dynakv/node"
)

// gossipKey is a valid --gossip-key (32 bytes).
const gossipKey = "dGhpcnR5LXR3byBieXRlcyBvZiBnb3NzaXAga2V5ISE="

// Nodes whose calls to each other use mutual TLS, and whose gossip is
// encrypted, form a cluster and replicate every write to every replica.
func TestNodesReplicateOverMutualTLS(t *testing.T) {
	cert, key := testutil.TLSFiles(t)
	c := startClusterWith(t, 3, func(cfg *node.Config) {
		cfg.PeerTLSCertFile, cfg.PeerTLSKeyFile, cfg.PeerTLSCAFile = cert, key, cert
		cfg.GossipKey = gossipKey
	})
	if err := c.put("n1", "k", "v", "", client.Levels{W: "all"}); err != nil {
		t.Fatalf("a write at w=all between nodes that speak TLS: %v", err)
	}
	for _, id := range c.ids() {
		got, err := c.get(id, "k", client.Levels{R: "all"})
		if err != nil || len(values(got)) != 1 || values(got)[0] != "v" {
			t.Fatalf("read at r=all through %s: %v, %v", id, values(got), err)
		}
	}
}

func TestConfigRefusesAnIncompletePeerTLSSetting(t *testing.T) {
	cert, key := testutil.TLSFiles(t)
	wantRefused(t, "--peer-tls-cert and --peer-tls-key without --peer-tls-ca", func(c *node.Config) {
		c.PeerTLSCertFile, c.PeerTLSKeyFile = cert, key
	}, "--peer-tls-ca", "all three")
	wantRefused(t, "a --peer-tls-ca that holds no certificate", func(c *node.Config) {
		c.PeerTLSCertFile, c.PeerTLSKeyFile, c.PeerTLSCAFile = cert, key, key
	}, "--peer-tls-ca", "no PEM certificate")
}

// A node without the cluster's gossip key, or with another one, cannot join
// it: its join times out, and it refuses to start alone.
func TestGossipKeyKeepsOtherNodesOut(t *testing.T) {
	c := startClusterWith(t, 1, func(cfg *node.Config) { cfg.GossipKey = gossipKey })
	for what, key := range map[string]string{
		"no key":      "",
		"another key": "YW5vdGhlciAxNiBieXRlcw==",
	} {
		cfg := node.DefaultConfig()
		cfg.ID, cfg.DataDir = "stranger", t.TempDir()
		cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		cfg.Partitions, cfg.Sync, cfg.GossipTuning, cfg.Logger = 64, false, gossip.FastTimings, testLogger()
		cfg.Join, cfg.JoinTimeout, cfg.GossipKey = []string{c.nodes["n1"].GossipAddr()}, time.Second, key
		if n, err := node.Start(cfg); err == nil {
			n.Close()
			t.Errorf("a node with %s joined a cluster with a gossip key", what)
		}
	}
	if ms, err := c.clients["n1"].Members(context.Background()); err != nil || len(ms) != 1 {
		t.Fatalf("n1 sees members %+v (%v), want only itself", ms, err)
	}
	wantRefused(t, "--gossip-key of 5 bytes", func(cfg *node.Config) { cfg.GossipKey = "aGVsbG8=" }, "--gossip-key", "5 bytes")
	wantRefused(t, "--gossip-key not base64", func(cfg *node.Config) { cfg.GossipKey = "!!" }, "--gossip-key", "base64")
}
