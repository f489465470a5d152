package merkle

import (
	"encoding/binary"
	"fmt"
)

// decoder reads untrusted bytes. The first problem sticks in err and turns
// every later read into a zero value, so decoders check once at the end and
// never index past the input.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) < 1 {
		d.fail("truncated")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (d *decoder) uint32() uint32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// bytes reads a length-prefixed byte string, aliasing the input.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)) {
		d.fail("truncated")
		return nil
	}
	return d.take(int(n))
}

// take returns the next n bytes, aliasing the input.
func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.buf) < n {
		d.fail("truncated")
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

// count reads a length prefix whose items each take at least minSize bytes,
// and rejects one the rest of the input cannot hold, so that no decoder
// allocates for items that are not there.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)/minSize) {
		d.fail("count %d exceeds the input", n)
		return 0
	}
	return int(n)
}

// header reads and checks the format version and the message tag.
func (d *decoder) header(tag byte) {
	v, t := d.byte(), d.byte()
	switch {
	case d.err != nil:
	case v != formatVersion:
		d.err = fmt.Errorf("%w: unknown format version %d", ErrIncompatible, v)
	case t != tag:
		d.fail("message tag %q, want %q", t, tag)
	}
}

// shape reads a shape and checks it is valid.
func (d *decoder) shape() Shape {
	s := Shape{FanoutBits: d.byte(), Depth: d.byte()}
	if d.err == nil && s.Validate() != nil {
		d.fail("invalid shape %s", s)
	}
	return s
}

// nodes reads a strictly ascending list of node ids of level l of shape s,
// encoded as the first id and then each gap minus one.
func (d *decoder) nodes(s Shape, l int) []int {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	size := uint64(s.LevelSize(l))
	out := make([]int, 0, n)
	next := uint64(0) // the smallest id the next entry may name
	for range n {
		id := next + d.uvarint()
		if d.err != nil {
			return nil
		}
		if id < next || id >= size { // id < next: the gap overflowed
			d.fail("node %d out of range for level %d of shape %s", id, l, s)
			return nil
		}
		out = append(out, int(id))
		next = id + 1
	}
	return out
}

// end fails unless every byte was read.
func (d *decoder) end() {
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
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
