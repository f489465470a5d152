package memnet

import (
	"bytes"
	"context"
	"fmt"

	"dynakv/merkle"
	"dynakv/replica"
)

// The anti-entropy calls of nodeTransport. Like the others they pass
// through the faults (DropReplicate drops none of them: anti-entropy is
// what repairs dropped replication) and through each message's encoding,
// so no memory is shared between nodes.

func (t *nodeTransport) TreeHashes(ctx context.Context, node string, partition uint32, req merkle.Request) (merkle.Response, error) {
	d, err := t.net.deliver(ctx, t.from, node, OpTreeHashes)
	if err != nil {
		return merkle.Response{}, fmt.Errorf("tree hashes of partition %d from %s: %w", partition, node, err)
	}
	in, err := merkle.DecodeRequest(req.AppendBinary(nil))
	if err != nil {
		return merkle.Response{}, fmt.Errorf("tree hashes of partition %d from %s: %w", partition, node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	resp, err := d.handler.TreeHashes(hctx, partition, in)
	if err != nil {
		return merkle.Response{}, fmt.Errorf("tree hashes of partition %d from %s: %w", partition, node, wire(err))
	}
	return merkle.DecodeResponse(resp.AppendBinary(nil))
}

func (t *nodeTransport) TreeListing(ctx context.Context, node string, partition uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error) {
	d, err := t.net.deliver(ctx, t.from, node, OpTreeListing)
	if err != nil {
		return nil, fmt.Errorf("list %d buckets of partition %d on %s: %w", len(buckets), partition, node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	l, err := d.handler.TreeListing(hctx, partition, shape, append([]int(nil), buckets...))
	if err != nil {
		return nil, fmt.Errorf("list %d buckets of partition %d on %s: %w", len(buckets), partition, node, wire(err))
	}
	return merkle.DecodeListing(l.AppendBinary(nil))
}

func (t *nodeTransport) ExchangeStates(ctx context.Context, node string, entries []replica.KeyState) ([]replica.KeyState, error) {
	d, err := t.net.deliver(ctx, t.from, node, OpExchangeStates)
	if err != nil {
		return nil, fmt.Errorf("exchange %d states with %s: %w", len(entries), node, err)
	}
	in, err := copyKeyStates(entries)
	if err != nil {
		return nil, fmt.Errorf("exchange %d states with %s: %w", len(entries), node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	out, err := d.handler.ExchangeStates(hctx, in)
	if err != nil {
		return nil, fmt.Errorf("exchange %d states with %s: %w", len(entries), node, wire(err))
	}
	if len(out) != len(entries) {
		return nil, fmt.Errorf("exchange %d states with %s: %d entries answer %d", len(entries), node, len(out), len(entries))
	}
	return copyKeyStates(out)
}

func (t *nodeTransport) ReapTombstones(ctx context.Context, node string, entries []replica.KeyState) ([]bool, error) {
	d, err := t.net.deliver(ctx, t.from, node, OpReapTombstones)
	if err != nil {
		return nil, fmt.Errorf("reap %d tombstones on %s: %w", len(entries), node, err)
	}
	in, err := copyKeyStates(entries)
	if err != nil {
		return nil, fmt.Errorf("reap %d tombstones on %s: %w", len(entries), node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	reaped, err := d.handler.ReapTombstones(hctx, in)
	if err != nil {
		return nil, fmt.Errorf("reap %d tombstones on %s: %w", len(entries), node, wire(err))
	}
	if len(reaped) != len(entries) {
		return nil, fmt.Errorf("reap %d tombstones on %s: %d answers", len(entries), node, len(reaped))
	}
	return append([]bool(nil), reaped...), nil
}

// copyKeyStates passes a batch through its wire encoding.
func copyKeyStates(entries []replica.KeyState) ([]replica.KeyState, error) {
	out := make([]replica.KeyState, len(entries))
	for i, e := range entries {
		state, err := copyState(e.State)
		if err != nil {
			return nil, fmt.Errorf("state of %q: %w", e.Key, err)
		}
		out[i] = replica.KeyState{Partition: e.Partition, Key: bytes.Clone(e.Key), State: state}
	}
	return out, nil
}
