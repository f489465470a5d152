package transport

import (
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// Defaults tuned for nodes on one LAN.
const (
	// DefaultMaxMessageBytes bounds one message either way. A key's state
	// can reach the sibling limit times the value limit (100 × 8 MiB with
	// the server's default flags), so the bound sits above that.
	DefaultMaxMessageBytes = 1 << 30

	// DefaultShutdownGrace is how long Server.Close lets running calls
	// finish before cancelling them.
	DefaultShutdownGrace = 5 * time.Second

	// A restarted peer is reconnected within reconnectMaxDelay: the backoff
	// between connection attempts never grows past it, and one attempt
	// gives up after connectTimeout.
	reconnectBaseDelay = 50 * time.Millisecond
	reconnectMaxDelay  = time.Second
	connectTimeout     = time.Second

	// An idle connection is pinged every keepaliveTime and dropped when a
	// ping goes unanswered for keepaliveTimeout, so a peer that vanished
	// without closing its sockets (power loss, cable pulled) is noticed in
	// about 13 s instead of the kernel's minutes.
	keepaliveTime    = 10 * time.Second
	keepaliveTimeout = 3 * time.Second
	// keepaliveMinTime is the ping rate servers accept; below
	// keepaliveTime, so clients are never told to back off.
	keepaliveMinTime = 5 * time.Second

	// streamWorkers is how many goroutines serve calls; a call that finds
	// them all busy gets a goroutine of its own, as without the pool. With
	// coalescing, a peer rarely has more than a few calls running here.
	streamWorkers = 16
)

// dialOptions are the options of every connection a Client opens, with
// plain credentials (ClientConfig.TLS replaces them).
func dialOptions(maxMsg int, version string) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  reconnectBaseDelay,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   reconnectMaxDelay,
			},
			MinConnectTimeout: connectTimeout,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                keepaliveTime,
			Timeout:             keepaliveTimeout,
			PermitWithoutStream: true,
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
		grpc.WithChainUnaryInterceptor(sendVersionUnary(version), sendRequestIDUnary),
		grpc.WithChainStreamInterceptor(sendVersionStream(version)),
	}
}

// serverOptions are the options of a Server's gRPC server.
func serverOptions(maxMsg int, logger *slog.Logger) []grpc.ServerOption {
	versions := versionChecker{logger: logger}
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxMsg),
		grpc.MaxSendMsgSize(maxMsg),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:    keepaliveTime,
			Timeout: keepaliveTimeout,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             keepaliveMinTime,
			PermitWithoutStream: true,
		}),
		// Calls run on a pool of long-lived goroutines, whose stacks have
		// grown to the depth of a handler (gRPC, then pebble) once: a
		// goroutine per call grew and copied its stack on every call,
		// about 3% of a node's CPU in the three-node benchmark.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.WaitForHandlers(true), // Stop and GracefulStop return only once every handler has
		grpc.ChainUnaryInterceptor(versions.unary, requestIDs{logger: logger}.unary),
		grpc.ChainStreamInterceptor(versions.stream),
	}
}
