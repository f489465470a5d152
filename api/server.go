package api

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Server timeouts. There is deliberately no ReadTimeout or WriteTimeout:
// net/http applies them to the whole request or response, so they would cut
// a legitimate slow upload of a large value or a request that waits up to
// its own timeout (as long as Config.MaxTimeout) for a quorum, and the client
// would see a reset connection instead of the 504 that tells it what was
// acked. Each request is bounded instead by its coordinator timeout, and
// bodies by MaxValueBytes.
const (
	// ReadHeaderTimeout bounds a client that opens a connection and sends
	// headers slowly (slowloris).
	ReadHeaderTimeout = 10 * time.Second
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds request headers (an X-Context grows with the
	// number of coordinators a key has seen, and stays far below this).
	MaxHeaderBytes = 1 << 20
)

// NewServer returns an HTTP server for h on addr with the timeouts above.
// net/http's own messages go to logger (nil: slog.Default()): failed TLS
// handshakes, which any client that does not trust the certificate or a
// port scanner makes, at debug; the rest as warnings.
func NewServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          log.New(serverLog{logger}, "", 0),
	}
}

// serverLog turns net/http's log lines into slog records.
type serverLog struct{ logger *slog.Logger }

func (l serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	l.logger.Log(context.Background(), level, msg, "component", "net/http")
	return len(p), nil
}
