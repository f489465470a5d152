// Package binread reads dynakv's binary encodings (a key's versions and
// contexts, the Merkle trees' messages) from untrusted bytes.
//
// It owns the primitives those formats are built from (bytes, varints,
// fixed-width integers, length-prefixed strings, element counts) and the
// rule every decoder of them keeps: a Reader never panics, never reads past
// its input and never lets a length or count make a caller allocate more
// than the input could hold; its first error sticks and turns every later
// read into a zero value, so a format's decoder checks once, at the end.
//
// It must never know a format: version bytes, tags, limits and what a field
// means belong to the package that owns the format.
package binread

import (
	"encoding/binary"
	"fmt"
)

// Reader reads a byte string front to back. Its zero value reads nothing
// and reports failures without a sentinel; use New.
type Reader struct {
	buf       []byte
	err       error
	malformed error // every failure wraps it, so callers can errors.Is it
}

// New returns a Reader of buf whose failures wrap malformed (a format's
// ErrMalformed). Values read as byte strings alias buf.
func New(buf []byte, malformed error) Reader {
	return Reader{buf: buf, malformed: malformed}
}

// Err is the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Len is the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.buf) }

// Fail records a malformed input, unless a failure is already recorded.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{r.malformed}, args...)...)
	}
}

// Abort records err as the failure, unless one is already recorded: for a
// failure other than a malformed input (an unknown format version).
func (r *Reader) Abort(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.buf) == 0 {
		r.Fail("unexpected end of input")
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.Fail("bad varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Varint reads a signed (zig-zag) varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.Fail("bad varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// Uint32 reads a little-endian uint32.
func (r *Reader) Uint32() uint32 {
	b := r.Take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// Uint64 reads a little-endian uint64.
func (r *Reader) Uint64() uint64 {
	b := r.Take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// Take reads the next n bytes, aliasing the input; nil after a failure.
func (r *Reader) Take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf) {
		r.Fail("length %d exceeds the remaining %d bytes", n, len(r.buf))
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

// Bytes reads a byte string prefixed by its length as a uvarint, aliasing
// the input.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.Fail("length %d exceeds the remaining %d bytes", n, len(r.buf))
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

// Count reads an element count (a uvarint) and refuses one the rest of the
// input could not hold at minSize bytes an element, so that a forged count
// cannot make the caller allocate for elements that are not there.
func (r *Reader) Count(minSize int) int {
	n := r.Uvarint()
	if r.err == nil && n > uint64(len(r.buf)/minSize) {
		r.Fail("count %d exceeds the remaining %d bytes", n, len(r.buf))
		return 0
	}
	return int(n)
}

// End fails if any input is left: an encoding is read whole or not at all.
func (r *Reader) End() {
	if r.err == nil && len(r.buf) != 0 {
		r.Fail("%d trailing bytes", len(r.buf))
	}
}
