package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
)

// tlsFor is the TLS configuration of connections to addr: ClientConfig.TLS,
// with the peer checked against the authority RootCAs gives at each
// handshake when it is set.
func (c *Client) tlsFor(addr string) *tls.Config {
	if c.cfg.RootCAs == nil {
		return c.cfg.TLS
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	cfg := c.cfg.TLS.Clone()
	// crypto/tls's own check reads a fixed RootCAs; VerifyConnection makes
	// the same check against the authority of the moment instead.
	cfg.InsecureSkipVerify = true
	roots := c.cfg.RootCAs
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyPeer(cs, host, roots()) }
	return cfg
}

// verifyPeer checks a server's certificate as crypto/tls does: a chain to
// roots through the intermediates it sent, valid now, for server
// authentication, naming host (a DNS name or an IP address).
func verifyPeer(cs tls.ConnectionState, host string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("transport: the peer presented no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: host, Intermediates: x509.NewCertPool()}
	for _, cert := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(cert)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("transport: the certificate of %s: %w", host, err)
	}
	return nil
}
