package memnet

import (
	"bytes"
	"context"
	"fmt"

	"dynakv/replica"
	"dynakv/transport/internal/rpcerr"
	"dynakv/versioning"
)

// nodeTransport is one node's view of the network: the replica.Transport its
// coordinator calls other nodes through.
type nodeTransport struct {
	net  *Network
	from string
}

var _ replica.Transport = (*nodeTransport)(nil)

func (t *nodeTransport) Read(ctx context.Context, node string, partition uint32, key []byte) (*versioning.Set, error) {
	d, err := t.net.deliver(ctx, t.from, node, OpRead)
	if err != nil {
		return nil, fmt.Errorf("read %q from %s: %w", key, node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	state, err := d.handler.Read(hctx, partition, bytes.Clone(key))
	if err != nil {
		return nil, fmt.Errorf("read %q from %s: %w", key, node, wire(err))
	}
	return copyState(state)
}

func (t *nodeTransport) Replicate(ctx context.Context, node string, partition uint32, key []byte, state *versioning.Set) error {
	d, err := t.net.deliver(ctx, t.from, node, OpReplicate)
	if err != nil {
		return fmt.Errorf("replicate %q to %s: %w", key, node, err)
	}
	if d.drop {
		return nil
	}
	in, err := copyState(state)
	if err != nil {
		return fmt.Errorf("replicate %q to %s: %w", key, node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	if err := d.handler.Replicate(hctx, partition, bytes.Clone(key), in); err != nil {
		return fmt.Errorf("replicate %q to %s: %w", key, node, wire(err))
	}
	return nil
}

// ReplicateBatch passes through the faults as a Replicate does (its op is
// OpReplicate, so DropReplicate drops it too).
func (t *nodeTransport) ReplicateBatch(ctx context.Context, node string, entries []replica.KeyState) error {
	d, err := t.net.deliver(ctx, t.from, node, OpReplicate)
	if err != nil {
		return fmt.Errorf("replicate %d keys to %s: %w", len(entries), node, err)
	}
	if d.drop {
		return nil
	}
	in, err := copyKeyStates(entries)
	if err != nil {
		return fmt.Errorf("replicate %d keys to %s: %w", len(entries), node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	if err := d.handler.ReplicateBatch(hctx, in); err != nil {
		return fmt.Errorf("replicate %d keys to %s: %w", len(entries), node, wire(err))
	}
	return nil
}

func (t *nodeTransport) Coordinate(ctx context.Context, node string, key []byte, w replica.Write, opts replica.WriteOptions) (*versioning.Set, error) {
	d, err := t.net.deliver(ctx, t.from, node, OpCoordinate)
	if err != nil {
		return nil, fmt.Errorf("coordinate %q on %s: %w", key, node, err)
	}
	wc, err := copyWrite(w)
	if err != nil {
		return nil, fmt.Errorf("coordinate %q on %s: %w", key, node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	state, err := d.handler.Coordinate(hctx, bytes.Clone(key), wc, opts)
	if err != nil {
		return nil, fmt.Errorf("coordinate %q on %s: %w", key, node, wire(err))
	}
	return copyState(state)
}

func (t *nodeTransport) StoreHint(ctx context.Context, node, target string, partition uint32, key []byte, state *versioning.Set) error {
	d, err := t.net.deliver(ctx, t.from, node, OpStoreHint)
	if err != nil {
		return fmt.Errorf("store hint of %q for %s on %s: %w", key, target, node, err)
	}
	in, err := copyState(state)
	if err != nil {
		return fmt.Errorf("store hint of %q for %s on %s: %w", key, target, node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	if err := d.handler.StoreHint(hctx, target, partition, bytes.Clone(key), in); err != nil {
		return fmt.Errorf("store hint of %q for %s on %s: %w", key, target, node, wire(err))
	}
	return nil
}

func (t *nodeTransport) HeldHints(ctx context.Context, node string, partition uint32, key []byte) (map[string]*versioning.Set, error) {
	d, err := t.net.deliver(ctx, t.from, node, OpHeldHints)
	if err != nil {
		return nil, fmt.Errorf("list hints of %q held by %s: %w", key, node, err)
	}
	hctx, cancel := detach(ctx)
	defer cancel()
	held, err := d.handler.HeldHints(hctx, partition, bytes.Clone(key))
	if err != nil {
		return nil, fmt.Errorf("list hints of %q held by %s: %w", key, node, wire(err))
	}
	out := make(map[string]*versioning.Set, len(held))
	for target, state := range held {
		if out[target], err = copyState(state); err != nil {
			return nil, fmt.Errorf("list hints of %q held by %s: %w", key, node, err)
		}
	}
	return out, nil
}

// wire turns a handler's error into the one the caller would get over gRPC.
func wire(err error) error { return rpcerr.Decode(rpcerr.Encode(err)) }

// copyState passes s through its wire encoding, so the receiver shares no
// memory with the sender. nil stays nil.
func copyState(s *versioning.Set) (*versioning.Set, error) {
	if s == nil {
		return nil, nil
	}
	return versioning.DecodeSet(s.AppendBinary(nil))
}

func copyWrite(w replica.Write) (replica.Write, error) {
	clock, err := versioning.DecodeContext(versioning.EncodeContext(w.Context))
	if err != nil {
		return replica.Write{}, err
	}
	return replica.Write{Context: clock, Value: bytes.Clone(w.Value), ContentType: w.ContentType, Delete: w.Delete}, nil
}
