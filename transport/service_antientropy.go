package transport

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dynakv/merkle"
	"dynakv/transport/transportpb"
)

// The anti-entropy side of service: tree messages cross the wire in the
// merkle package's own format-versioned encoding, states in versioning's.

func (s *service) TreeHashes(ctx context.Context, req *transportpb.TreeHashesRequest) (*transportpb.TreeHashesResponse, error) {
	r, err := merkle.DecodeRequest(req.GetRequest())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("tree hashes of partition %d: %v", req.GetPartition(), err))
	}
	resp, err := s.h.TreeHashes(ctx, req.GetPartition(), r)
	if err != nil {
		return nil, s.failPartition("tree-hashes", req.GetPartition(), err)
	}
	return &transportpb.TreeHashesResponse{Response: resp.AppendBinary(nil)}, nil
}

func (s *service) TreeListing(ctx context.Context, req *transportpb.TreeListingRequest) (*transportpb.TreeListingResponse, error) {
	shape, buckets, err := fromBucketsRequest(req.GetBuckets())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("tree listing of partition %d: %v", req.GetPartition(), err))
	}
	l, err := s.h.TreeListing(ctx, req.GetPartition(), shape, buckets)
	if err != nil {
		return nil, s.failPartition("tree-listing", req.GetPartition(), err)
	}
	return &transportpb.TreeListingResponse{Listing: l.AppendBinary(nil)}, nil
}

func (s *service) ExchangeStates(ctx context.Context, req *transportpb.ExchangeStatesRequest) (*transportpb.ExchangeStatesResponse, error) {
	in, err := fromKeyStatesPB(req.GetEntries())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("exchange states: %v", err))
	}
	out, err := s.h.ExchangeStates(ctx, in)
	if err != nil {
		return nil, s.failBatch("exchange-states", len(in), err)
	}
	if len(out) != len(in) {
		return nil, s.failBatch("exchange-states", len(in), fmt.Errorf("handler answered %d of %d entries", len(out), len(in)))
	}
	return &transportpb.ExchangeStatesResponse{Entries: keyStatesPB(out)}, nil
}

func (s *service) ReapTombstones(ctx context.Context, req *transportpb.ReapTombstonesRequest) (*transportpb.ReapTombstonesResponse, error) {
	in, err := fromKeyStatesPB(req.GetEntries())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("reap tombstones: %v", err))
	}
	reaped, err := s.h.ReapTombstones(ctx, in)
	if err != nil {
		return nil, s.failBatch("reap-tombstones", len(in), err)
	}
	if len(reaped) != len(in) {
		return nil, s.failBatch("reap-tombstones", len(in), fmt.Errorf("handler answered %d of %d entries", len(reaped), len(in)))
	}
	return &transportpb.ReapTombstonesResponse{Reaped: reaped}, nil
}
