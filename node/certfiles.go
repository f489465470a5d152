package node

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certFiles serves a certificate and its key from PEM files, and reads them
// again when either file changed, so a renewed certificate takes effect on
// the next connection, without a restart (as Cassandra reloads its
// keystores). The files are looked at no more than once per checkEvery.
// A pair that fails to load (a renewal caught halfway, the certificate
// written and not yet the key) leaves the last good one in use, and is
// tried again at the next look.
type certFiles struct {
	certFile, keyFile string
	checkEvery        time.Duration
	logger            *slog.Logger

	mu       sync.Mutex
	current  *tls.Certificate
	modified [2]time.Time // of certFile and keyFile when current was loaded
	checked  time.Time
}

// loadCertFiles loads the pair once, failing when it cannot.
func loadCertFiles(certFile, keyFile string, logger *slog.Logger) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, checkEvery: time.Second, logger: logger}
	if err := c.reload(time.Now()); err != nil {
		return nil, err
	}
	return c, nil
}

// notAfter is when the certificate in use expires.
func (c *certFiles) notAfter() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == nil || c.current.Leaf == nil {
		return time.Time{}
	}
	return c.current.Leaf.NotAfter
}

// get returns the certificate to present now.
func (c *certFiles) get() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= c.checkEvery {
		if err := c.reload(now); err != nil {
			c.logger.Warn("a renewed TLS certificate could not be loaded; the previous one stays in use", "cert", c.certFile, "key", c.keyFile, "err", err)
		}
	}
	return c.current, nil
}

// reload loads the pair if either file changed since the last load. The
// caller holds mu, or is the constructor.
func (c *certFiles) reload(now time.Time) error {
	c.checked = now
	var modified [2]time.Time
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("read the TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
		}
		modified[i] = fi.ModTime()
	}
	if c.current != nil && modified == c.modified {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("load the TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.current, c.modified = &cert, modified
	return nil
}
