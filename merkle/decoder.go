package merkle

import (
	"encoding/binary"
	"fmt"

	"dynakv/internal/binread"
)

// decoder reads untrusted bytes with the messages' own checks on top of
// binread's primitives; its first failure sticks (see binread).
type decoder struct{ binread.Reader }

func newDecoder(buf []byte) decoder { return decoder{binread.New(buf, ErrMalformed)} }

// header reads and checks the format version and the message tag.
func (d *decoder) header(tag byte) {
	v, t := d.Byte(), d.Byte()
	switch {
	case d.Err() != nil:
	case v != formatVersion:
		d.Abort(fmt.Errorf("%w: unknown format version %d", ErrIncompatible, v))
	case t != tag:
		d.Fail("message tag %q, want %q", t, tag)
	}
}

// shape reads a shape and checks it is valid.
func (d *decoder) shape() Shape {
	s := Shape{FanoutBits: d.Byte(), Depth: d.Byte()}
	if d.Err() == nil && s.Validate() != nil {
		d.Fail("invalid shape %s", s)
	}
	return s
}

// nodes reads a strictly ascending list of node ids of level l of shape s,
// encoded as the first id and then each gap minus one.
func (d *decoder) nodes(s Shape, l int) []int {
	n := d.Count(1)
	if d.Err() != nil {
		return nil
	}
	size := uint64(s.LevelSize(l))
	out := make([]int, 0, n)
	next := uint64(0) // the smallest id the next entry may name
	for range n {
		id := next + d.Uvarint()
		if d.Err() != nil {
			return nil
		}
		if id < next || id >= size { // id < next: the gap overflowed
			d.Fail("node %d out of range for level %d of shape %s", id, l, s)
			return nil
		}
		out = append(out, int(id))
		next = id + 1
	}
	return out
}

// appendNodes encodes strictly ascending node ids as decoder.nodes reads
// them.
func appendNodes(b []byte, nodes []int) []byte {
	b = binary.AppendUvarint(b, uint64(len(nodes)))
	next := 0
	for _, n := range nodes {
		b = binary.AppendUvarint(b, uint64(n-next))
		next = n + 1
	}
	return b
}

// nodesSize returns len(appendNodes(nil, nodes)).
func nodesSize(nodes []int) int {
	size := uvarintSize(uint64(len(nodes)))
	next := 0
	for _, n := range nodes {
		size += uvarintSize(uint64(n - next))
		next = n + 1
	}
	return size
}

func uvarintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
