package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"dynakv/internal/pemfile"
)

// TLSFiles writes a self-signed certificate for 127.0.0.1 and localhost,
// valid for an hour, and its private key, as PEM files in a temporary
// folder, and returns their paths. The certificate is its own authority:
// a client trusts the server by trusting certFile, and a server that
// requires client certificates accepts it from a client too (mutual TLS).
func TLSFiles(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	return TLSFilesFor(t, "127.0.0.1", "localhost")
}

// TLSFilesFor is TLSFiles for a certificate that names hosts (IP addresses
// and DNS names) and no other.
func TLSFilesFor(t testing.TB, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	var ips []net.IP
	var names []string
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, h)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dynakv test"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           ips,
		DNSNames:              names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// CertPool reads certFile (a PEM certificate, as TLSFiles writes) into a
// pool of authorities, failing the test when it cannot.
func CertPool(t testing.TB, certFile string) *x509.CertPool {
	t.Helper()
	pool, err := pemfile.CertPool("authority", certFile)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}
