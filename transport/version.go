package transport

import (
	"context"
	"log/slog"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	grpcpeer "google.golang.org/grpc/peer"

	"dynakv/transport/internal/rpcerr"
)

// ProtocolVersion is the version of the node-to-node protocol this build
// speaks. A Server refuses calls of any other version.
//
// WARNING: bump it for every change an older node would misread (see the
// rules in transportpb/node.proto), and append a line to the history.
//
// History:
//
//	1: Read, Replicate, Coordinate; states in versioning's Set encoding,
//	   refusals as transportpb.ErrorDetail status details.
//	   Later, without a bump (adding a method is backwards compatible):
//	   StoreHint and HeldHints, for hinted handoff. A version-1 node that
//	   predates them answers UNIMPLEMENTED, which the Client reports as an
//	   error wrapping ErrUnimplemented (not unreachable).
//	   Later still, the same way: TreeHashes, TreeListing, ExchangeStates
//	   and ReapTombstones, for anti-entropy; tree messages in package
//	   merkle's own format-versioned encoding.
//	   Later still: ListKeys, for GET /keys (replica.Lister).
const ProtocolVersion uint32 = 1

// versionHeader is the gRPC metadata key that carries the caller's protocol
// version on every call.
const versionHeader = "dynakv-protocol-version"

// callerVersion returns the protocol version the caller sent, 0 for none.
func callerVersion(ctx context.Context) uint32 {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(versionHeader)
	if len(vals) != 1 {
		return 0
	}
	v, err := strconv.ParseUint(vals[0], 10, 32)
	if err != nil {
		return 0
	}
	return uint32(v)
}

// versionChecker refuses calls of another protocol version, logging each
// refusal: a node left on an old release shows up in the refusing node's log.
type versionChecker struct{ logger *slog.Logger }

func (v versionChecker) check(ctx context.Context, method string) error {
	sent := callerVersion(ctx)
	if sent == ProtocolVersion {
		return nil
	}
	from := "unknown"
	if p, ok := grpcpeer.FromContext(ctx); ok {
		from = p.Addr.String()
	}
	v.logger.Warn("transport: refused a call of another protocol version", "from", from, "method", method, "sent", sent, "speaks", ProtocolVersion)
	return rpcerr.Mismatch(ProtocolVersion, sent)
}

// Server-side interceptors: every method, present and future, is checked.

func (v versionChecker) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if err := v.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

func (v versionChecker) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	if err := v.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return next(srv, ss)
}

// Client-side interceptors: every call carries the client's version.

func sendVersionUnary(version string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(metadata.AppendToOutgoingContext(ctx, versionHeader, version), method, req, reply, cc, opts...)
	}
}

func sendVersionStream(version string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(metadata.AppendToOutgoingContext(ctx, versionHeader, version), desc, cc, method, opts...)
	}
}
