package api_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"dynakv/api"
	"dynakv/internal/testutil"
)

// net/http's own messages reach the node's log: failed TLS handshakes (any
// client that does not trust the certificate makes one) at debug, others
// as warnings.
func TestServerLogsNetHTTPMessagesThroughSlog(t *testing.T) {
	var logs testutil.SyncBuffer
	srv := api.NewServer("", http.NotFoundHandler(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	srv.ErrorLog.Printf("http: TLS handshake error from 127.0.0.1:1: remote error: tls: bad certificate")
	srv.ErrorLog.Printf("http: Accept error: too many open files; retrying in 5ms")
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=DEBUG") || !strings.Contains(lines[0], "TLS handshake error") ||
		!strings.Contains(lines[1], "level=WARN") || !strings.Contains(lines[1], "Accept error") {
		t.Fatalf("logged:\n%s\nwant the handshake error at debug and the accept error as a warning", logs.String())
	}
}
