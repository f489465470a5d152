package transport

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dynakv/replica"
	"dynakv/transport/transportpb"
)

// The ListKeys call, both sides: a page of the keys a peer holds in one
// partition (replica.Lister drives it).

// ListKeys asks node for the keys it holds in partition, as q asks. A node
// that predates the call answers with an error wrapping ErrUnimplemented.
func (c *Client) ListKeys(ctx context.Context, node string, partition uint32, q replica.ListQuery) (replica.ListPage, error) {
	req, err := listKeysRequest(partition, q)
	if err != nil {
		return replica.ListPage{}, fmt.Errorf("list keys of partition %d on %s: %w", partition, node, err)
	}
	var resp *transportpb.ListKeysResponse
	err = c.call(node, func(rpc transportpb.NodeClient) (err error) {
		resp, err = rpc.ListKeys(ctx, req)
		return err
	})
	if err != nil {
		return replica.ListPage{}, fmt.Errorf("list keys of partition %d on %s: %w", partition, node, err)
	}
	return replica.ListPage{
		Keys:    resp.GetKeys(),
		Done:    resp.GetDone(),
		Last:    resp.GetLast(),
		Scanned: int(resp.GetScanned()),
	}, nil
}

func listKeysRequest(partition uint32, q replica.ListQuery) (*transportpb.ListKeysRequest, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return &transportpb.ListKeysRequest{
		Partition: partition,
		After:     q.After,
		Prefix:    q.Prefix,
		Limit:     uint32(q.Limit),
		MaxScan:   uint32(q.MaxScan),
	}, nil
}

func (s *service) ListKeys(ctx context.Context, req *transportpb.ListKeysRequest) (*transportpb.ListKeysResponse, error) {
	q := replica.ListQuery{
		After:   nonEmpty(req.GetAfter()),
		Prefix:  nonEmpty(req.GetPrefix()),
		Limit:   int(min(req.GetLimit(), replica.MaxListLimit+1)),
		MaxScan: int(min(req.GetMaxScan(), replica.MaxListScan+1)),
	}
	if err := q.Validate(); err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("list keys of partition %d: %v", req.GetPartition(), err))
	}
	page, err := s.h.ListKeys(ctx, req.GetPartition(), q)
	if err != nil {
		return nil, s.failPartition("list-keys", req.GetPartition(), err)
	}
	return &transportpb.ListKeysResponse{Keys: page.Keys, Done: page.Done, Last: page.Last, Scanned: uint32(page.Scanned)}, nil
}

// nonEmpty maps protobuf's empty bytes to nil, the "none" of a ListQuery.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
