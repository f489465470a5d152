package node

// The node's transport security: TLS for the client API and for calls
// between nodes, and the gossip encryption key, from the files and values
// of Config.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"dynakv/internal/pemfile"
)

// certificate is a certificate and key from PEM files, read again when
// they change (see reloading).
type certificate = reloading[*tls.Certificate]

func loadCertificate(what, certFile, keyFile string, logger *slog.Logger) (*certificate, error) {
	return newReloading(what, []string{certFile, keyFile}, func() (*tls.Certificate, error) {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load the TLS certificate %s and key %s: %w", certFile, keyFile, err)
		}
		return &cert, nil
	}, logger)
}

// notAfter is when the certificate in use expires.
func notAfter(c *certificate) time.Time {
	if leaf := c.get().Leaf; leaf != nil {
		return leaf.NotAfter
	}
	return time.Time{}
}

// apiTLS is the TLS configuration of the client API and its certificate,
// nil when it is plain HTTP.
func (c Config) apiTLS(logger *slog.Logger) (*tls.Config, *certificate, error) {
	if c.TLSCertFile == "" {
		return nil, nil, nil
	}
	cert, err := loadCertificate("the API's TLS certificate", c.TLSCertFile, c.TLSKeyFile, logger)
	if err != nil {
		return nil, nil, err
	}
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert.get(), nil },
		MinVersion:     tls.VersionTLS12,
	}, cert, nil
}

// peerTLS returns the TLS configurations of node-to-node calls, the server
// side's and the client side's, both nil when the calls are plain, and the
// authority the client side checks peers against. Both sides present this
// node's certificate and trust only the peer authority: each side checks
// the other's (mutual TLS).
//
// This node's certificate and the authority are read again when their
// files change, so a cluster moves to a renewed certificate or a new
// authority (first a bundle of the old and the new) without a restart.
func (c Config) peerTLS(logger *slog.Logger) (server, client *tls.Config, roots func() *x509.CertPool, cert *certificate, err error) {
	if c.PeerTLSCertFile == "" {
		return nil, nil, nil, nil, nil
	}
	cert, err = loadCertificate("the node-to-node TLS certificate", c.PeerTLSCertFile, c.PeerTLSKeyFile, logger)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ca, err := newReloading("the node-to-node certificate authority", []string{c.PeerTLSCAFile}, func() (*x509.CertPool, error) {
		return pemfile.CertPool("--peer-tls-ca", c.PeerTLSCAFile)
	}, logger)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	server = &tls.Config{
		// A configuration per handshake, for the authority of the moment.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return &tls.Config{
				GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert.get(), nil },
				ClientCAs:      ca.get(),
				ClientAuth:     tls.RequireAndVerifyClientCert,
				MinVersion:     tls.VersionTLS12,
			}, nil
		},
		MinVersion: tls.VersionTLS12,
	}
	client = &tls.Config{
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert.get(), nil },
		MinVersion:           tls.VersionTLS12,
	}
	return server, client, ca.get, cert, nil
}

// gossipKeys decodes GossipKey, a comma-separated list whose first key
// encrypts; nil when gossip is not encrypted.
func (c Config) gossipKeys() ([][]byte, error) {
	if c.GossipKey == "" {
		return nil, nil
	}
	var keys [][]byte
	for i, k := range strings.Split(c.GossipKey, ",") {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("--gossip-key: key %d is not standard base64 (%w): make one with `head -c 32 /dev/urandom | base64`", i+1, err)
		}
		if n := len(key); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("--gossip-key: key %d holds %d bytes; it must hold 16, 24 or 32: make one with `head -c 32 /dev/urandom | base64`", i+1, n)
		}
		keys = append(keys, key)
	}
	return keys, nil
}
