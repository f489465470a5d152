package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dynakv/gossip"
	"dynakv/internal/testutil"
	"dynakv/node"
)

// A node started with a certificate serves its API over HTTPS only; the
// CLI reaches it with an https endpoint and --ca-cert, and every command
// that fans out to the other nodes (status) uses https too.
func TestTLSNodeServesTheCLIOverHTTPS(t *testing.T) {
	cert, key := testutil.TLSFiles(t)
	n := startNode(t, func(cfg *node.Config) { cfg.TLSCertFile, cfg.TLSKeyFile = cert, key })
	if !strings.HasPrefix(n.APIURL(), "https://") {
		t.Fatalf("APIURL = %s, want https", n.APIURL())
	}
	https := "https://" + n.HTTPAddr()

	mustRun(t, "", "put", "-e", https, "--ca-cert", cert, "greeting", "hello")
	if out, _ := mustRun(t, "", "get", "-e", https, "--ca-cert", cert, "greeting"); out != "hello" {
		t.Fatalf("get over https = %q, want hello", out)
	}
	// The node's own figures (its version, its partitions) come only from
	// asking it, over https, for its status.
	out, _ := mustRun(t, "", "status", "-e", https, "--ca-cert", cert, "-o", "json")
	if !strings.Contains(out, `"id":"n1"`) || !strings.Contains(out, `"replica_partitions":64`) {
		t.Fatalf("status over https = %s, want n1's own row", out)
	}
	mustRun(t, "", "bench", "-e", https, "--ca-cert", cert, "--ops", "20", "--keys", "10", "-o", "json")

	if err := runFails(t, "get", "-e", https, "greeting"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("get over https without --ca-cert: %v, want a certificate error", err)
	}
	if err := runFails(t, "get", "-e", "http://"+n.HTTPAddr(), "greeting"); err == nil {
		t.Error("get over plain http from an https node succeeded")
	}
	if err := runFails(t, "get", "-e", https, "--ca-cert", key, "greeting"); err == nil || !strings.Contains(err.Error(), "--ca-cert") {
		t.Errorf("get with a --ca-cert holding no certificate: %v, want an error naming --ca-cert", err)
	}
}

// A node started with an API token file serves the CLI when --token (or
// DYNAKV_TOKEN) gives one of its tokens; without it the CLI fails with the
// node's message.
func TestTokenReachesANodeThatAsksForOne(t *testing.T) {
	const token = "cli-token-0123456789"
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, func(cfg *node.Config) { cfg.APITokenFile = file })
	e := n.APIURL()

	mustRun(t, "", "put", "-e", e, "--token", token, "k", "v")
	if err := runFails(t, "get", "-e", e, "k"); err == nil || !strings.Contains(err.Error(), "requires a token") {
		t.Fatalf("get without a token: %v, want the node's 401 message", err)
	}
	t.Setenv("DYNAKV_TOKEN", token)
	if out, _ := mustRun(t, "", "get", "-e", e, "k"); out != "v" {
		t.Fatalf("get with DYNAKV_TOKEN = %q, want v", out)
	}
	out, _ := mustRun(t, "", "status", "-e", e, "-o", "json")
	if !strings.Contains(out, `"replica_partitions":64`) {
		t.Fatalf("status with a token = %s, want n1's own row", out)
	}
}

// startNode starts one node with the test timings and its config changed
// by edit, without waiting on its API (which edit may protect).
func startNode(t *testing.T, edit func(*node.Config)) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.ID, cfg.DataDir = "n1", filepath.Join(t.TempDir(), "n1")
	cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Partitions, cfg.Sync, cfg.GossipTuning = 64, false, gossip.FastTimings
	cfg.Logger = slog.New(slog.DiscardHandler)
	edit(&cfg)
	n, err := node.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
