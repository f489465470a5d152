package transport

import (
	"fmt"
	"maps"
	"slices"

	"google.golang.org/protobuf/types/known/durationpb"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/transport/transportpb"
	"dynakv/versioning"
)

// encodeState returns the wire bytes of s: empty for no state.
func encodeState(s *versioning.Set) []byte {
	if s == nil {
		return nil
	}
	return s.AppendBinary(nil)
}

// decodeState reads wire bytes back; empty bytes are no state (nil).
func decodeState(buf []byte) (*versioning.Set, error) {
	if len(buf) == 0 {
		return nil, nil
	}
	return versioning.DecodeSet(buf)
}

func coordinateRequest(key []byte, w replica.Write, opts replica.WriteOptions) *transportpb.CoordinateRequest {
	req := &transportpb.CoordinateRequest{
		Key:         key,
		Value:       w.Value,
		ContentType: w.ContentType,
		Context:     versioning.EncodeContext(w.Context),
		Delete:      w.Delete,
		W:           uint32(max(opts.W, 0)),
		Pw:          uint32(max(opts.PW, 0)),
	}
	if opts.Timeout > 0 {
		req.Timeout = durationpb.New(opts.Timeout)
	}
	return req
}

func fromCoordinateRequest(req *transportpb.CoordinateRequest) (replica.Write, replica.WriteOptions, error) {
	clock, err := versioning.DecodeContext(req.GetContext())
	if err != nil {
		return replica.Write{}, replica.WriteOptions{}, fmt.Errorf("bad context: %w", err)
	}
	w := replica.Write{Context: clock, Value: req.GetValue(), ContentType: req.GetContentType(), Delete: req.GetDelete()}
	opts := replica.WriteOptions{W: int(req.GetW()), PW: int(req.GetPw())}
	if t := req.GetTimeout(); t != nil {
		if err := t.CheckValid(); err != nil || t.AsDuration() < 0 {
			return replica.Write{}, replica.WriteOptions{}, fmt.Errorf("bad timeout %v", t)
		}
		opts.Timeout = t.AsDuration()
	}
	return w, opts, nil
}

// heldHintsResponse encodes a Handler's held hints, sorted by target so the
// bytes do not depend on map order.
func heldHintsResponse(held map[string]*versioning.Set) *transportpb.HeldHintsResponse {
	resp := &transportpb.HeldHintsResponse{Hints: make([]*transportpb.HeldHint, 0, len(held))}
	for _, target := range slices.Sorted(maps.Keys(held)) {
		resp.Hints = append(resp.Hints, &transportpb.HeldHint{Target: target, State: encodeState(held[target])})
	}
	return resp
}

// fromHeldHints decodes held hints; never nil on success.
func fromHeldHints(resp *transportpb.HeldHintsResponse) (map[string]*versioning.Set, error) {
	held := make(map[string]*versioning.Set, len(resp.GetHints()))
	for _, h := range resp.GetHints() {
		if _, dup := held[h.GetTarget()]; dup {
			return nil, fmt.Errorf("target %s listed twice", h.GetTarget())
		}
		state, err := decodeState(h.GetState())
		if err != nil {
			return nil, fmt.Errorf("hints for %s: %w", h.GetTarget(), err)
		}
		held[h.GetTarget()] = state
	}
	return held, nil
}

// keyStatesPB encodes a batch of key states.
func keyStatesPB(entries []replica.KeyState) []*transportpb.KeyState {
	out := make([]*transportpb.KeyState, len(entries))
	for i, e := range entries {
		out[i] = &transportpb.KeyState{Partition: e.Partition, Key: e.Key, State: encodeState(e.State)}
	}
	return out
}

// fromKeyStatesPB decodes a batch of key states; a nil entry is refused.
func fromKeyStatesPB(pb []*transportpb.KeyState) ([]replica.KeyState, error) {
	out := make([]replica.KeyState, len(pb))
	for i, e := range pb {
		if e == nil {
			return nil, fmt.Errorf("entry %d is empty", i)
		}
		state, err := decodeState(e.GetState())
		if err != nil {
			return nil, fmt.Errorf("state of %q: %w", e.GetKey(), err)
		}
		out[i] = replica.KeyState{Partition: e.GetPartition(), Key: e.GetKey(), State: state}
	}
	return out, nil
}

// bucketsRequest encodes the buckets a TreeListing asks for as a listing
// with no entries: the shape and the bucket ids, in merkle's own encoding.
func bucketsRequest(shape merkle.Shape, buckets []int) []byte {
	l := merkle.Listing{Shape: shape, Buckets: buckets}
	return l.AppendBinary(nil)
}

// fromBucketsRequest decodes what bucketsRequest encoded.
func fromBucketsRequest(b []byte) (merkle.Shape, []int, error) {
	l, err := merkle.DecodeListing(b)
	if err != nil {
		return merkle.Shape{}, nil, err
	}
	if len(l.Entries) != 0 {
		return merkle.Shape{}, nil, fmt.Errorf("%w: a bucket request lists %d entries", merkle.ErrMalformed, len(l.Entries))
	}
	return l.Shape, l.Buckets, nil
}
