package transport

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"dynakv/transport/transportpb"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	Handler         Handler       // required: serves every call
	Logger          *slog.Logger  // nil: slog.Default()
	MaxMessageBytes int           // largest message accepted or sent; 0: DefaultMaxMessageBytes
	ShutdownGrace   time.Duration // how long Close waits for running calls; 0: DefaultShutdownGrace
	// TracerProvider records a span per call, continuing the caller's
	// trace; nil: no tracing.
	TracerProvider trace.TracerProvider
	// TLS, if set, serves every connection over TLS with it (with
	// ClientAuth set to require and verify peers' certificates, mutual
	// TLS). Nil: plain connections, for a private network.
	TLS *tls.Config
}

// Server serves this node's Handler to other nodes over gRPC.
type Server struct {
	cfg  ServerConfig
	grpc *grpc.Server
}

// NewServer returns a server for cfg. It starts nothing: call Serve.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	opts := append(serverOptions(cfg.MaxMessageBytes, cfg.Logger), tracingServerOptions(cfg.TracerProvider)...)
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	s := &Server{cfg: cfg, grpc: grpc.NewServer(opts...)}
	if cfg.Handler != nil {
		transportpb.RegisterNodeServer(s.grpc, &service{h: cfg.Handler, logger: cfg.Logger})
	}
	return s
}

// Serve accepts connections on lis and serves them until Close. It returns
// nil after Close, or the error that made lis stop accepting. It closes lis.
func (s *Server) Serve(lis net.Listener) error {
	if s.cfg.Handler == nil {
		lis.Close()
		s.grpc.Stop() // its stream workers started in NewServer
		return errors.New("transport: ServerConfig.Handler is nil")
	}
	err := s.grpc.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Close stops accepting calls and lets running ones finish for up to
// ShutdownGrace, then cancels the rest (their handlers see ctx end). It
// returns once every handler has returned and every connection is closed.
func (s *Server) Close() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.grpc.GracefulStop()
	}()
	grace := time.NewTimer(s.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.cfg.Logger.Warn("transport: calls still running after the shutdown grace period; cancelling them", "grace", s.cfg.ShutdownGrace)
		s.grpc.Stop()
		<-done
	}
}
