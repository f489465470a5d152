package node_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	wantRefused(t, "--gossip-key not base64", func(cfg *node.Config) { cfg.GossipKey = gossipKey + ",!!" }, "--gossip-key", "key 2", "base64")
}

// Mid-rotation, nodes that encrypt with different keys but each accept
// both form one cluster: the key changes without a split.
func TestGossipKeyRotatesWithoutASplit(t *testing.T) {
	const newKey = "bmV3IGtleSwgdGhpcnR5LXR3byBieXRlcyBsb25nISE=" // 32 bytes
	i := 0
	c := startClusterWith(t, 2, func(cfg *node.Config) {
		// n1 still encrypts with the old key, n2 already with the new one.
		cfg.GossipKey = []string{gossipKey + "," + newKey, newKey + "," + gossipKey}[i]
		i++
	})
	if err := c.put("n2", "k", "v", "", client.Levels{W: "all"}); err != nil {
		t.Fatalf("a write at w=all mid-rotation: %v", err)
	}
}

// A renewed API certificate takes effect on the next connection, without a
// restart; a renewal caught halfway keeps the previous one in use.
func TestAPICertificateIsReloadedWhenItsFilesChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "api.pem"), filepath.Join(dir, "api-key.pem")
	install := func(cert, key string) {
		t.Helper()
		replaceFile(t, certFile, cert)
		replaceFile(t, keyFile, key)
	}
	oldCert, oldKey := testutil.TLSFiles(t)
	newCert, newKey := testutil.TLSFiles(t)
	install(oldCert, oldKey)

	var logs testutil.SyncBuffer
	n := startSingle(t, func(cfg *node.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		cfg.TLSCertFile, cfg.TLSKeyFile = certFile, keyFile
	})

	// trusts reports whether a new connection that trusts only ca's
	// certificate reaches the node.
	trusts := func(ca string) bool {
		c, err := client.New(n.APIURL(), client.WithTLSConfig(&tls.Config{RootCAs: testutil.CertPool(t, ca)}))
		if err != nil {
			t.Fatal(err)
		}
		return c.Health(context.Background()) == nil
	}
	if !trusts(oldCert) || trusts(newCert) {
		t.Fatal("before the renewal the node should present the old certificate")
	}

	// Halfway: the new certificate beside the old key does not load.
	b, err := os.ReadFile(newCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the node to try the half-renewed files", func() bool {
		trusts(oldCert) // a handshake makes the node look at the files
		return strings.Contains(logs.String(), "could not be loaded")
	})
	if !trusts(oldCert) {
		t.Fatal("with the renewal halfway the node stopped presenting the old certificate")
	}

	install(newCert, newKey)
	testutil.Eventually(t, 10*time.Second, "the renewed certificate to be presented", func() bool {
		return trusts(newCert)
	})
	if trusts(oldCert) {
		t.Fatal("after the renewal the node still presents the old certificate")
	}

	// /metrics tells when the certificate in use expires.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testutil.CertPool(t, newCert)}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(n.APIURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(newCert, newKey)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`dynakv_tls_certificate_expiry_timestamp_seconds{use="api"} %s`, strconv.FormatFloat(float64(cert.Leaf.NotAfter.Unix()), 'g', -1, 64))
	if !strings.Contains(string(body), want) {
		t.Fatalf("/metrics does not hold %q", want)
	}
}

// With --api-token-file, the API asks for one of the file's tokens; a
// rewritten file takes effect without a restart.
func TestAPITokensRotateWithoutARestart(t *testing.T) {
	const first, second = "first-token-0123456789", "second-token-0123456789"
	file := filepath.Join(t.TempDir(), "tokens")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file+".tmp", []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	write("# clients' tokens\n" + first + "\n")
	n := startSingle(t, func(cfg *node.Config) { cfg.APITokenFile = file })
	ctx := context.Background()
	with := func(token string) error {
		cl, err := client.New(n.APIURL(), client.WithToken(token))
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Put(ctx, "k", []byte("v"), "text/plain", "", client.Levels{})
		return err
	}
	if err := with(first); err != nil {
		t.Fatalf("a write with the file's token: %v", err)
	}
	if err := with(""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a write without a token: %v, want a 401", err)
	}

	write(first + "\n" + second + "\n") // rotation: both accepted for a while
	testutil.Eventually(t, 10*time.Second, "the second token to be accepted", func() bool { return with(second) == nil })
	write(second + "\n")
	testutil.Eventually(t, 10*time.Second, "the first token to be refused", func() bool { return with(first) != nil })
	if err := with(second); err != nil {
		t.Fatalf("a write with the remaining token: %v", err)
	}

	wantRefused(t, "a token file with a short token", func(cfg *node.Config) {
		short := filepath.Join(t.TempDir(), "short")
		if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.APITokenFile = short
	}, "API token file", "line 1", "16 bytes")
}

// startSingle starts a one-node cluster with the test timings, its config
// changed by edit, without waiting on its API (which edit may protect).
func startSingle(t *testing.T, edit func(*node.Config)) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.ID, cfg.DataDir = "n1", t.TempDir()
	cfg.HTTPAddr, cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Partitions, cfg.Sync, cfg.GossipTuning, cfg.Logger = 64, false, gossip.FastTimings, testLogger()
	edit(&cfg)
	n, err := node.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// The peer authority is read again when its file changes, as the node's
// certificate is: a cluster moves to a new authority, first trusting a
// bundle of the old and the new, with no node restarted for it. Here n2
// comes back with a certificate of the new authority, and n1, never
// restarted, must trust it both ways (n1 calling n2, n2 calling n1).
func TestPeerAuthorityIsReloadedWhenItsFileChanges(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "peer.pem"), filepath.Join(dir, "peer-key.pem")
	oldCert, oldKey := testutil.TLSFiles(t)
	newCert, newKey := testutil.TLSFiles(t)
	replaceFile(t, caFile, oldCert)
	replaceFile(t, certFile, oldCert)
	replaceFile(t, keyFile, oldKey)
	c := startClusterWith(t, 2, func(cfg *node.Config) {
		cfg.PeerTLSCertFile, cfg.PeerTLSKeyFile, cfg.PeerTLSCAFile = certFile, keyFile, caFile
	})
	if err := c.put("n1", "before", "v", "", client.Levels{W: "all"}); err != nil {
		t.Fatalf("a write at w=all under the old authority: %v", err)
	}

	replaceFile(t, caFile, oldCert, newCert) // both authorities, while certificates move
	c.stop("n2")
	replaceFile(t, certFile, newCert)
	replaceFile(t, keyFile, newKey)
	cfg := c.cfgs["n2"]
	cfg.Join = nil
	c.start(cfg)
	c.waitStatus("n1", "n2", gossip.StatusAlive)
	for _, at := range []string{"n1", "n2"} {
		testutil.Eventually(t, 15*time.Second, "a write at w=all through "+at+" with n2 under the new authority", func() bool {
			return c.put(at, "after-"+at, "v", "", client.Levels{W: "all", Timeout: time.Second}) == nil
		})
	}
}

// replaceFile replaces dst, as an operator's tool would (a new file renamed
// over it), with the contents of srcs one after the other.
func replaceFile(t *testing.T, dst string, srcs ...string) {
	t.Helper()
	var b []byte
	for _, src := range srcs {
		pem, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, pem...)
	}
	if err := os.WriteFile(dst+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dst+".tmp", dst); err != nil {
		t.Fatal(err)
	}
}
