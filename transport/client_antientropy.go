package transport

import (
	"context"
	"fmt"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/transport/transportpb"
)

// The anti-entropy calls of Client. A node that predates them answers with
// an error wrapping ErrUnimplemented (never unreachable): anti-entropy then
// skips that peer.

// TreeHashes asks node for its hashes of the nodes req names in its tree
// of partition.
func (c *Client) TreeHashes(ctx context.Context, node string, partition uint32, req merkle.Request) (merkle.Response, error) {
	var resp *transportpb.TreeHashesResponse
	err := c.call(node, func(rpc transportpb.NodeClient) (err error) {
		resp, err = rpc.TreeHashes(ctx, &transportpb.TreeHashesRequest{Partition: partition, Request: req.AppendBinary(nil)})
		return err
	})
	if err != nil {
		return merkle.Response{}, fmt.Errorf("tree hashes of partition %d from %s: %w", partition, node, err)
	}
	r, err := merkle.DecodeResponse(resp.GetResponse())
	if err != nil {
		return merkle.Response{}, fmt.Errorf("tree hashes of partition %d from %s: %w", partition, node, err)
	}
	return r, nil
}

// TreeListing asks node for its keys and versions in some buckets of its
// tree of partition.
func (c *Client) TreeListing(ctx context.Context, node string, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error) {
	var resp *transportpb.TreeListingResponse
	err := c.call(node, func(rpc transportpb.NodeClient) (err error) {
		resp, err = rpc.TreeListing(ctx, &transportpb.TreeListingRequest{Partition: partition, Buckets: bucketsRequest(shape, buckets)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %d buckets of partition %d on %s: %w", len(buckets), partition, node, err)
	}
	l, err := merkle.DecodeListing(resp.GetListing())
	if err != nil {
		return nil, fmt.Errorf("list %d buckets of partition %d on %s: %w", len(buckets), partition, node, err)
	}
	return l, nil
}

// ExchangeStates sends node a batch of states to merge and returns node's
// states of those keys afterwards, one per entry.
func (c *Client) ExchangeStates(ctx context.Context, node string, entries []replica.KeyState) ([]replica.KeyState, error) {
	var resp *transportpb.ExchangeStatesResponse
	err := c.call(node, func(rpc transportpb.NodeClient) (err error) {
		resp, err = rpc.ExchangeStates(ctx, &transportpb.ExchangeStatesRequest{Entries: keyStatesPB(entries)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("exchange %d states with %s: %w", len(entries), node, err)
	}
	out, err := fromKeyStatesPB(resp.GetEntries())
	if err == nil && len(out) != len(entries) {
		err = fmt.Errorf("%d entries answer %d", len(out), len(entries))
	}
	if err != nil {
		return nil, fmt.Errorf("exchange %d states with %s: %w", len(entries), node, err)
	}
	return out, nil
}

// ReapTombstones asks node to delete the keys whose states still equal the
// entries' tombstones, and returns which it deleted.
func (c *Client) ReapTombstones(ctx context.Context, node string, entries []replica.KeyState) ([]bool, error) {
	var resp *transportpb.ReapTombstonesResponse
	err := c.call(node, func(rpc transportpb.NodeClient) (err error) {
		resp, err = rpc.ReapTombstones(ctx, &transportpb.ReapTombstonesRequest{Entries: keyStatesPB(entries)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reap %d tombstones on %s: %w", len(entries), node, err)
	}
	if len(resp.GetReaped()) != len(entries) {
		return nil, fmt.Errorf("reap %d tombstones on %s: %d answers", len(entries), node, len(resp.GetReaped()))
	}
	return resp.GetReaped(), nil
}
