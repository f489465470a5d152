package transport

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"dynakv/reqctx"
)

// A client request's ID (package reqctx) travels with every call it causes,
// in the x-request-id metadata header, so that the replicas' log lines about
// it carry the same request_id as the coordinator's.

func sendRequestIDUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := reqctx.ID(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, reqctx.MetadataKey, id)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// requestIDs puts the caller's request ID into the handler's context and
// logs each call at debug level with it.
type requestIDs struct{ logger *slog.Logger }

func (r requestIDs) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if ids := md.Get(reqctx.MetadataKey); len(ids) > 0 && reqctx.Valid(ids[0]) {
			ctx = reqctx.WithID(ctx, ids[0])
		}
	}
	start := time.Now()
	resp, err := next(ctx, req)
	if reqctx.ID(ctx) != "" {
		r.logger.DebugContext(ctx, "peer call", "method", info.FullMethod, "took", time.Since(start), "err", err)
	}
	return resp, err
}
