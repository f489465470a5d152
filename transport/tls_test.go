package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/internal/testutil"
	"dynakv/replica"
	"dynakv/transport/internal/transporttest"
)

// tlsConfigs builds, from a certificate that is its own authority, the
// server side of mutual TLS and a client that presents the certificate.
func tlsConfigs(t *testing.T, certFile, keyFile string) (server, client *tls.Config) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := testutil.CertPool(t, certFile)
	server = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

func tlsClient(t *testing.T, addr string, cfg *tls.Config) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{Resolver: newResolver("n2", addr), Logger: quiet, Registerer: prometheus.NewRegistry(), TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// With TLS on both sides calls work; a peer without a certificate, one
// that does not trust the node's authority, or one speaking plain gRPC is
// not served.
func TestMutualTLS(t *testing.T) {
	cert, key := testutil.TLSFiles(t)
	serverTLS, clientTLS := tlsConfigs(t, cert, key)
	h := transporttest.NewHandler()
	lis := listen(t, "127.0.0.1:0")
	serve(t, ServerConfig{Handler: h, TLS: serverTLS}, lis)
	ctx := context.Background()
	state := transporttest.State(t, "v")

	if err := tlsClient(t, lis.Addr().String(), clientTLS).Replicate(ctx, "n2", 1, []byte("k"), state); err != nil {
		t.Fatalf("Replicate over mutual TLS: %v", err)
	}
	if !h.State([]byte("k")).Equal(state) {
		t.Fatal("the peer did not store the state sent over TLS")
	}

	otherCert, otherKey := testutil.TLSFiles(t)
	_, strangerTLS := tlsConfigs(t, otherCert, otherKey)
	noCert := clientTLS.Clone()
	noCert.Certificates = nil
	for name, c := range map[string]*Client{
		"plain":                     newTestClient(t, newResolver("n2", lis.Addr().String())),
		"TLS without a certificate": tlsClient(t, lis.Addr().String(), noCert),
		"another authority":         tlsClient(t, lis.Addr().String(), strangerTLS),
	} {
		_, err := c.Read(ctx, "n2", 1, []byte("k"))
		if err == nil || !replica.IsUnreachable(err) {
			t.Errorf("Read from a %s client: %v, want unreachable", name, err)
		}
	}
	if n := h.Calls("read"); n != 0 {
		t.Errorf("%d reads from refused clients reached the handler", n)
	}
}

// With RootCAs, the authority is asked at every handshake: a client that
// did not trust the peer does once its authority changes, with no new
// client. The peer's certificate must still name the host dialled.
func TestRootCAsAreAskedAtEveryHandshake(t *testing.T) {
	cert, key := testutil.TLSFiles(t)
	serverTLS, clientTLS := tlsConfigs(t, cert, key)
	h := transporttest.NewHandler()
	lis := listen(t, "127.0.0.1:0")
	serve(t, ServerConfig{Handler: h, TLS: serverTLS}, lis)
	ctx := context.Background()

	other, _ := testutil.TLSFiles(t)
	var roots atomic.Pointer[x509.CertPool]
	roots.Store(testutil.CertPool(t, other))
	withRoots := clientTLS.Clone()
	withRoots.RootCAs = nil
	rootsClient := func(addr string) *Client {
		c, err := NewClient(ClientConfig{Resolver: newResolver("n2", addr), Logger: quiet, Registerer: prometheus.NewRegistry(),
			TLS: withRoots, RootCAs: roots.Load})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := rootsClient(lis.Addr().String())
	if _, err := c.Read(ctx, "n2", 1, []byte("k")); err == nil || !replica.IsUnreachable(err) {
		t.Fatalf("Read with another authority: %v, want unreachable", err)
	}
	roots.Store(testutil.CertPool(t, cert))
	testutil.Eventually(t, 10*time.Second, "a read once the client trusts the peer's authority", func() bool {
		_, err := c.Read(ctx, "n2", 1, []byte("k"))
		return err == nil
	})

	// A certificate of the trusted authority that names another host.
	elsewhere, elsewhereKey := testutil.TLSFilesFor(t, "db.example")
	elsewhereServer, _ := tlsConfigs(t, elsewhere, elsewhereKey)
	elsewhereServer.ClientCAs = testutil.CertPool(t, cert)
	lis2 := listen(t, "127.0.0.1:0")
	serve(t, ServerConfig{Handler: h, TLS: elsewhereServer}, lis2)
	roots.Store(testutil.CertPool(t, elsewhere))
	if _, err := rootsClient(lis2.Addr().String()).Read(ctx, "n2", 1, []byte("k")); err == nil || !replica.IsUnreachable(err) {
		t.Fatalf("Read from a peer whose certificate names another host: %v, want unreachable", err)
	}
}
