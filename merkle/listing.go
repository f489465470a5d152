package merkle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// Entry is one key and its version, as a replica lists the keys of the
// buckets an exchange found differing.
type Entry struct {
	Key     []byte
	Version uint64
}

// Listing is one replica's keys in some buckets: what each side of an
// exchange sends the other once the differing buckets are known. The
// caller builds it by scanning the partition in key order and keeping the
// keys whose Shape.BucketOf is listed.
//
// Invariant (checked by DecodeListing): Buckets are strictly ascending
// bucket ids of Shape, Entries are strictly ascending by key, and every
// entry's key lies in one of the buckets and has a version other than
// Absent.
//
// Encoding, format version 1:
//
//	byte       1 (format version)
//	byte       'l'
//	byte       FanoutBits, byte Depth
//	uvarint    number of buckets, then the ids as in a Request
//	uvarint    number of entries m
//	m times:   uvarint key length, key, 8-byte version little-endian
type Listing struct {
	Shape   Shape
	Buckets []int
	Entries []Entry
}

// AppendBinary appends the encoding of l to b.
func (l *Listing) AppendBinary(b []byte) []byte {
	b = append(b, formatVersion, tagListing, l.Shape.FanoutBits, l.Shape.Depth)
	b = appendNodes(b, l.Buckets)
	b = binary.AppendUvarint(b, uint64(len(l.Entries)))
	for _, e := range l.Entries {
		b = binary.AppendUvarint(b, uint64(len(e.Key)))
		b = append(b, e.Key...)
		b = binary.LittleEndian.AppendUint64(b, e.Version)
	}
	return b
}

// Size returns the length of l's encoding, the bytes it costs on the wire.
func (l *Listing) Size() int {
	size := 4 + nodesSize(l.Buckets) + uvarintSize(uint64(len(l.Entries)))
	for _, e := range l.Entries {
		size += uvarintSize(uint64(len(e.Key))) + len(e.Key) + 8
	}
	return size
}

// DecodeListing decodes a Listing and checks its invariant. It never
// panics. The keys alias b.
func DecodeListing(b []byte) (*Listing, error) {
	d := newDecoder(b)
	d.header(tagListing)
	l := &Listing{Shape: d.shape()}
	l.Buckets = d.nodes(l.Shape, int(l.Shape.Depth))
	n := d.Count(9) // an entry takes at least 9 bytes
	l.Entries = make([]Entry, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		e := Entry{Key: d.Bytes()}
		e.Version = d.Uint64()
		switch {
		case d.Err() != nil:
		case e.Version == Absent:
			d.Fail("entry %q has the absent version", e.Key)
		case i > 0 && bytes.Compare(l.Entries[i-1].Key, e.Key) >= 0:
			d.Fail("entry %q out of order", e.Key)
		case !listed(l.Buckets, l.Shape.BucketOf(e.Key)):
			d.Fail("entry %q outside the listed buckets", e.Key)
		}
		l.Entries = append(l.Entries, e)
	}
	d.End()
	if d.Err() != nil {
		return nil, fmt.Errorf("merkle: decode listing: %w", d.Err())
	}
	return l, nil
}

// Diff returns the keys on which two listings of the same buckets
// disagree, ascending: keys only one side holds and keys whose versions
// differ. The caller then exchanges those keys' states and merges them on
// both sides. Entries must be sorted by key, as Listing's invariant has it.
func Diff(a, b []Entry) [][]byte {
	var out [][]byte
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		c := 0
		switch {
		case i == len(a):
			c = 1
		case j == len(b):
			c = -1
		default:
			c = bytes.Compare(a[i].Key, b[j].Key)
		}
		switch {
		case c < 0:
			out = append(out, a[i].Key)
			i++
		case c > 0:
			out = append(out, b[j].Key)
			j++
		default:
			if a[i].Version != b[j].Version {
				out = append(out, a[i].Key)
			}
			i++
			j++
		}
	}
	return out
}

// listed reports whether the ascending bucket ids hold b.
func listed(buckets []int, b int) bool {
	_, ok := slices.BinarySearch(buckets, b)
	return ok
}
