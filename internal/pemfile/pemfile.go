// Package pemfile reads certificate authorities from PEM files, for the
// node's peer authority and the CLI's API authority alike. It owns only
// the reading and the check that a file holds a certificate; it never
// decides what a pool is trusted for.
package pemfile

import (
	"crypto/x509"
	"fmt"
	"os"
)

// CertPool reads the PEM file given to flag (named in errors, so a user
// knows which setting to fix) into a pool of authorities. A file without a
// single PEM certificate is an error, not an empty pool that would trust
// nothing and fail later at every handshake.
func CertPool(flag, file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s holds no PEM certificate", flag, file)
	}
	return pool, nil
}
