package pemfile_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dynakv/internal/pemfile"
	"dynakv/internal/testutil"
)

// A self-signed certificate is its own authority: the pool read from its
// file verifies it, and does not verify another authority's.
func TestCertPoolReadsAnAuthority(t *testing.T) {
	certFile, _ := testutil.TLSFiles(t)
	otherFile, _ := testutil.TLSFiles(t)
	pool, err := pemfile.CertPool("--ca-cert", certFile)
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: pool, DNSName: "localhost"}
	if _, err := parse(t, certFile).Verify(opts); err != nil {
		t.Fatalf("the authority's own certificate: %v", err)
	}
	if _, err := parse(t, otherFile).Verify(opts); err == nil {
		t.Fatal("another authority's certificate verified")
	}
}

func parse(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// A file that is missing or holds no certificate is an error that names
// the setting to fix, never an empty pool that would refuse every peer.
func TestCertPoolNamesTheFlagOnBadFiles(t *testing.T) {
	dir := t.TempDir()
	_, key := testutil.TLSFiles(t)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{
		"missing": filepath.Join(dir, "absent.pem"),
		"not PEM": notPEM,
		"a key":   key,
	} {
		_, err := pemfile.CertPool("--peer-tls-ca", file)
		if err == nil || !strings.Contains(err.Error(), "--peer-tls-ca") {
			t.Errorf("%s: %v; want an error naming --peer-tls-ca", name, err)
		}
	}
}
