package merkle

import (
	"encoding/binary"
	"fmt"
)

// Request asks the other replica for the hashes of some nodes of one level
// of its tree. The exchange's initiator sends it; see Exchange and Answer.
//
// Invariant (checked by Answer and DecodeRequest): Shape is valid, Level is
// in [0, Shape.Depth] and Nodes are strictly ascending ids of that level.
//
// Encoding, format version 1:
//
//	byte       1 (format version)
//	byte       'q'
//	byte       FanoutBits, byte Depth
//	uvarint    Level
//	uvarint    number of nodes n
//	n uvarint  the first node id, then each id minus the previous id minus 1
//
// Nodes asked together are mostly siblings, consecutive ids, so a node
// costs one byte.
type Request struct {
	Shape Shape // the asker's shape: a responder of another shape refuses
	Level int
	Nodes []int
}

// Response carries the responder's hash of each node of a Request, in the
// request's order.
//
// Encoding, format version 1:
//
//	byte       1 (format version)
//	byte       'r'
//	uvarint    number of hashes n
//	n × 8      hashes, little-endian
type Response struct {
	Hashes []uint64
}

// AppendBinary appends the encoding of r to b.
func (r Request) AppendBinary(b []byte) []byte {
	b = append(b, formatVersion, tagRequest, r.Shape.FanoutBits, r.Shape.Depth)
	b = binary.AppendUvarint(b, uint64(r.Level))
	return appendNodes(b, r.Nodes)
}

// Size returns the length of r's encoding, the bytes it costs on the wire.
func (r Request) Size() int { return 4 + uvarintSize(uint64(r.Level)) + nodesSize(r.Nodes) }

// validate checks the request's invariant.
func (r Request) validate() error {
	if err := r.Shape.Validate(); err != nil {
		return fmt.Errorf("merkle: request: %w: %w", ErrMalformed, err)
	}
	if !r.Shape.validNodes(r.Level, r.Nodes) {
		return fmt.Errorf("merkle: request: %w: level %d or its nodes out of range or order for shape %s", ErrMalformed, r.Level, r.Shape)
	}
	return nil
}

// DecodeRequest decodes a Request and checks its invariant. It never panics.
func DecodeRequest(b []byte) (Request, error) {
	d := newDecoder(b)
	d.header(tagRequest)
	var r Request
	r.Shape = d.shape()
	level := d.Uvarint()
	if d.Err() == nil && level > uint64(r.Shape.Depth) {
		d.Fail("level %d deeper than depth %d", level, r.Shape.Depth)
	}
	r.Level = int(level)
	r.Nodes = d.nodes(r.Shape, r.Level)
	d.End()
	if d.Err() != nil {
		return Request{}, fmt.Errorf("merkle: decode request: %w", d.Err())
	}
	return r, nil
}

// AppendBinary appends the encoding of r to b.
func (r Response) AppendBinary(b []byte) []byte {
	b = append(b, formatVersion, tagResponse)
	b = binary.AppendUvarint(b, uint64(len(r.Hashes)))
	for _, h := range r.Hashes {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	return b
}

// Size returns the length of r's encoding, the bytes it costs on the wire.
func (r Response) Size() int { return 2 + uvarintSize(uint64(len(r.Hashes))) + 8*len(r.Hashes) }

// DecodeResponse decodes a Response. It never panics. Whether the hashes
// answer the request is Exchange.Step's to check.
func DecodeResponse(b []byte) (Response, error) {
	d := newDecoder(b)
	d.header(tagResponse)
	r := Response{Hashes: make([]uint64, d.Count(8))}
	for i := range r.Hashes {
		r.Hashes[i] = d.Uint64()
	}
	d.End()
	if d.Err() != nil {
		return Response{}, fmt.Errorf("merkle: decode response: %w", d.Err())
	}
	return r, nil
}
