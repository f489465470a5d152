package transport

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dynakv/transport/internal/rpcerr"
	"dynakv/transport/transportpb"
)

// service adapts a Handler to the generated gRPC service: it decodes
// requests, calls the handler and encodes its answer or error.
type service struct {
	transportpb.UnimplementedNodeServer
	h      Handler
	logger *slog.Logger
}

func (s *service) Read(ctx context.Context, req *transportpb.ReadRequest) (*transportpb.ReadResponse, error) {
	state, err := s.h.Read(ctx, req.GetPartition(), req.GetKey())
	if err != nil {
		return nil, s.fail("read", req.GetKey(), err)
	}
	return &transportpb.ReadResponse{State: encodeState(state)}, nil
}

func (s *service) ReadBatch(ctx context.Context, req *transportpb.ReadBatchRequest) (*transportpb.ReadBatchResponse, error) {
	out := make([]*transportpb.KeyState, len(req.GetEntries()))
	for i, e := range req.GetEntries() {
		if e == nil {
			return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("read a batch: entry %d is empty", i))
		}
		state, err := s.h.Read(ctx, e.GetPartition(), e.GetKey())
		if err != nil {
			return nil, s.fail("read-batch", e.GetKey(), err)
		}
		out[i] = &transportpb.KeyState{Partition: e.GetPartition(), Key: e.GetKey(), State: encodeState(state)}
	}
	return &transportpb.ReadBatchResponse{Entries: out}, nil
}

func (s *service) Replicate(ctx context.Context, req *transportpb.ReplicateRequest) (*transportpb.ReplicateResponse, error) {
	e := req.GetEntry()
	if e == nil {
		return nil, status.Error(codes.InvalidArgument, "replicate: no entry")
	}
	state, err := decodeState(e.GetState())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("replicate %q: %v", e.GetKey(), err))
	}
	if err := s.h.Replicate(ctx, e.GetPartition(), e.GetKey(), state); err != nil {
		return nil, s.fail("replicate", e.GetKey(), err)
	}
	return &transportpb.ReplicateResponse{}, nil
}

func (s *service) ReplicateBatch(ctx context.Context, req *transportpb.ReplicateBatchRequest) (*transportpb.ReplicateBatchResponse, error) {
	entries, err := fromKeyStatesPB(req.GetEntries())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("replicate a batch: %v", err))
	}
	if err := s.h.ReplicateBatch(ctx, entries); err != nil {
		return nil, s.failBatch("replicate-batch", len(entries), err)
	}
	return &transportpb.ReplicateBatchResponse{}, nil
}

func (s *service) Coordinate(ctx context.Context, req *transportpb.CoordinateRequest) (*transportpb.CoordinateResponse, error) {
	w, opts, err := fromCoordinateRequest(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("coordinate %q: %v", req.GetKey(), err))
	}
	state, err := s.h.Coordinate(ctx, req.GetKey(), w, opts)
	if err != nil {
		return nil, s.fail("coordinate", req.GetKey(), err)
	}
	return &transportpb.CoordinateResponse{State: encodeState(state)}, nil
}

func (s *service) StoreHint(ctx context.Context, req *transportpb.StoreHintRequest) (*transportpb.StoreHintResponse, error) {
	e := req.GetEntry()
	if e == nil {
		return nil, status.Error(codes.InvalidArgument, "store hint: no entry")
	}
	state, err := decodeState(e.GetState())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("store hint of %q for %s: %v", e.GetKey(), req.GetTarget(), err))
	}
	if err := s.h.StoreHint(ctx, req.GetTarget(), e.GetPartition(), e.GetKey(), state); err != nil {
		return nil, s.fail("store-hint", e.GetKey(), err)
	}
	return &transportpb.StoreHintResponse{}, nil
}

func (s *service) HeldHints(ctx context.Context, req *transportpb.HeldHintsRequest) (*transportpb.HeldHintsResponse, error) {
	held, err := s.h.HeldHints(ctx, req.GetPartition(), req.GetKey())
	if err != nil {
		return nil, s.fail("held-hints", req.GetKey(), err)
	}
	return heldHintsResponse(held), nil
}

// fail logs a handler's error and encodes it for the caller. Logged at debug:
// the caller decides whether the failure matters and logs it there.
func (s *service) fail(op string, key []byte, err error) error {
	s.logger.Debug("transport: handler failed", "op", op, "key", string(key), "err", err)
	return rpcerr.Encode(err)
}

// failPartition is fail for a call about a whole partition.
func (s *service) failPartition(op string, partition uint32, err error) error {
	s.logger.Debug("transport: handler failed", "op", op, "partition", partition, "err", err)
	return rpcerr.Encode(err)
}

// failBatch is fail for a call about a batch of keys.
func (s *service) failBatch(op string, entries int, err error) error {
	s.logger.Debug("transport: handler failed", "op", op, "entries", entries, "err", err)
	return rpcerr.Encode(err)
}
