package node_test

import (
	"strings"
	"testing"
	"time"

	"dynakv/node"
)

// wantRefused starts a node with the default config changed by edit and
// checks that it refuses to start with an error holding every one of words
// (the flags at fault, and what to do).
func wantRefused(t *testing.T, what string, edit func(*node.Config), words ...string) {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	edit(&cfg)
	n, err := node.Start(cfg)
	if err == nil {
		n.Close()
		t.Fatalf("started with %s", what)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal of %s: %q does not say %q", what, err, w)
		}
	}
}

// A tombstone grace within the hint window could let a late hint bring a
// deleted value back: the node refuses to start with one.
func TestConfigRefusesAGraceWithinTheHintWindow(t *testing.T) {
	wantRefused(t, "--tombstone-grace 1h and --hint-window 3h", func(c *node.Config) {
		c.HintWindow, c.TombstoneGrace = 3*time.Hour, time.Hour
	}, "--tombstone-grace", "--hint-window")
}

// Negative sizes and timeouts are refused, each naming its own flag.
func TestConfigRefusesNegativeSizesAndDurations(t *testing.T) {
	for flag, set := range map[string]func(*node.Config){
		"--cache":             func(c *node.Config) { c.CacheBytes = -1 },
		"--row-cache":         func(c *node.Config) { c.RowCacheBytes = -1 },
		"--join-timeout":      func(c *node.Config) { c.JoinTimeout = -time.Second },
		"--sync-group-window": func(c *node.Config) { c.SyncGroupWindow = -time.Millisecond },
	} {
		wantRefused(t, "a negative "+flag, set, flag+" -")
	}
}

func TestConfigRefusesAnInflightBudgetBelowTheValueLimit(t *testing.T) {
	wantRefused(t, "--max-inflight-bytes below --max-value-bytes", func(c *node.Config) {
		c.MaxInflightBytes = c.MaxValueBytes - 1
	}, "--max-inflight-bytes", "never be taken")
}

func TestConfigRefusesAnObjectLimitBelowTheValueLimit(t *testing.T) {
	wantRefused(t, "--max-object-bytes below --max-value-bytes", func(c *node.Config) {
		c.MaxObjectBytes = c.MaxValueBytes - 1
	}, "--max-object-bytes", "could never be written")
}

func TestConfigRefusesAnUnknownDiskFailurePolicy(t *testing.T) {
	wantRefused(t, "--disk-failure-policy ignore", func(c *node.Config) {
		c.DiskFailurePolicy = "ignore"
	}, "--disk-failure-policy", "die")
}

func TestConfigRefusesHalfATLSSetting(t *testing.T) {
	wantRefused(t, "--tls-cert without --tls-key", func(c *node.Config) {
		c.TLSCertFile = "cert.pem"
	}, "--tls-cert", "--tls-key", "both")
	wantRefused(t, "a --tls-cert that is not there", func(c *node.Config) {
		c.TLSCertFile, c.TLSKeyFile = "/nonexistent/cert.pem", "/nonexistent/key.pem"
	}, "TLS certificate", "/nonexistent/cert.pem")
}
