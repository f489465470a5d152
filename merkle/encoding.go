package merkle

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Tree snapshot, format version 1:
//
//	byte       1 (format version)
//	byte       't'
//	byte       FanoutBits
//	byte       Depth
//	B × 8      bucket hashes, little-endian, bucket 0 first (B = Shape.Buckets)
//	B × 4      bucket key counts, little-endian
//	4 bytes    CRC-32C of everything before, big-endian
//
// Inner nodes are not stored: DecodeTree sums them up from the buckets, so a
// decoded tree satisfies the tree's invariant whatever the bytes said. The
// layout is dense, 12 bytes per bucket: its size is known from the shape,
// so DecodeTree checks the length before it allocates anything, and a tree
// small enough to keep in memory is small enough to write out whole. The
// checksum turns a torn or rotten snapshot file into an error instead of a
// tree that disagrees with its replicas until the next rebuild.

// treeHeaderSize is the size of the fixed fields before the buckets.
const treeHeaderSize = 4

// AppendBinary appends the snapshot encoding of t to b.
func (t *Tree) AppendBinary(b []byte) []byte {
	start := len(b)
	b = append(b, formatVersion, tagTree, t.shape.FanoutBits, t.shape.Depth)
	for _, h := range t.levels[t.shape.Depth] {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	for _, c := range t.counts {
		b = binary.LittleEndian.AppendUint32(b, c)
	}
	return binary.BigEndian.AppendUint32(b, checksum(b[start:]))
}

// MarshalBinary returns the snapshot encoding of t.
func (t *Tree) MarshalBinary() ([]byte, error) {
	return t.AppendBinary(make([]byte, 0, encodedTreeSize(t.shape))), nil
}

func encodedTreeSize(s Shape) int { return treeHeaderSize + 12*s.Buckets() + 4 }

// DecodeTree decodes a tree snapshot. It never panics and allocates only after
// the input's length matched its shape, whatever the bytes.
func DecodeTree(b []byte) (*Tree, error) {
	if len(b) < treeHeaderSize+4 {
		return nil, fmt.Errorf("merkle: decode tree: %w: truncated", ErrMalformed)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if checksum(body) != sum {
		return nil, fmt.Errorf("merkle: decode tree: %w: checksum mismatch (truncated or altered)", ErrMalformed)
	}
	d := newDecoder(body)
	d.header(tagTree)
	shape := d.shape()
	if d.Err() == nil && len(b) != encodedTreeSize(shape) {
		d.Fail("%d bytes for shape %s, want %d", len(b), shape, encodedTreeSize(shape))
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("merkle: decode tree: %w", d.Err())
	}
	t, err := New(shape)
	if err != nil {
		return nil, fmt.Errorf("merkle: decode tree: %w: %w", ErrMalformed, err)
	}
	buckets := t.levels[shape.Depth]
	for i := range buckets {
		buckets[i] = d.Uint64()
	}
	for i := range t.counts {
		t.counts[i] = d.Uint32()
		t.n += int(t.counts[i])
	}
	d.End()
	if d.Err() != nil {
		return nil, fmt.Errorf("merkle: decode tree: %w", d.Err())
	}
	t.sumLevels()
	return t, nil
}

// checksum is CRC-32C (crc32 builds the table once and caches it).
func checksum(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// sumLevels recomputes every inner node from the buckets, restoring the
// tree's invariant.
func (t *Tree) sumLevels() {
	for l := int(t.shape.Depth) - 1; l >= 0; l-- {
		child := t.levels[l+1]
		for i := range t.levels[l] {
			var sum uint64
			for _, h := range child[i<<t.shape.FanoutBits : (i+1)<<t.shape.FanoutBits] {
				sum += h
			}
			t.levels[l][i] = sum
		}
	}
}
