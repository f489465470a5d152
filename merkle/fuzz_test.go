package merkle

import (
	"encoding/binary"
	"slices"
	"testing"
)

// The decoders read bytes from peers and disks: whatever the input they
// must return an error or a value that satisfies its invariant, never
// panic, and what they accept must survive re-encoding.

// fuzzShape is a shape small enough to allocate on every fuzz input.
func fuzzShape(s Shape) bool { return s.bucketBits() <= 12 }

func FuzzDecodeTree(f *testing.F) {
	for _, s := range []state{nil, {"a": 1}, {"a": 1, "b": 2, "c": 3}} {
		snapshot := build(f, Shape{FanoutBits: 1, Depth: 2}, s, nil).AppendBinary(nil)
		f.Add(snapshot)
		f.Add(snapshot[:len(snapshot)-4])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Random bytes rarely carry a valid checksum: also try them with
		// one, so that the fuzzer reaches the parser behind it.
		fuzzSnapshot(t, b)
		fuzzSnapshot(t, binary.BigEndian.AppendUint32(slices.Clone(b), checksum(b)))
	})
}

func fuzzSnapshot(t *testing.T, b []byte) {
	tr, err := DecodeTree(b)
	if err != nil {
		return
	}
	if !slices.Equal(tr.AppendBinary(nil), b) {
		t.Fatal("an accepted snapshot re-encodes differently")
	}
	for l := int(tr.shape.Depth) - 1; l >= 0; l-- {
		for i := range tr.levels[l] {
			var sum uint64
			for c := i << tr.shape.FanoutBits; c < (i+1)<<tr.shape.FanoutBits; c++ {
				sum += tr.levels[l+1][c]
			}
			if sum != tr.levels[l][i] {
				t.Fatalf("level %d node %d is not the sum of its children", l, i)
			}
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(Request{Shape: Shape{FanoutBits: 2, Depth: 3}, Level: 0, Nodes: []int{0}}.AppendBinary(nil))
	f.Add(Request{Shape: Shape{FanoutBits: 4, Depth: 3}, Level: 2, Nodes: []int{16, 17, 18, 255}}.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeRequest(b)
		if err != nil {
			return
		}
		again, err := DecodeRequest(req.AppendBinary(nil))
		if err != nil || again.Shape != req.Shape || again.Level != req.Level || !slices.Equal(again.Nodes, req.Nodes) {
			t.Fatalf("an accepted request does not survive re-encoding: %+v, %v", again, err)
		}
		if !fuzzShape(req.Shape) {
			return
		}
		tr, err := New(req.Shape)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Answer(tr, req); err != nil {
			t.Fatalf("Answer refused a request DecodeRequest accepted: %v", err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(Response{Hashes: []uint64{1, 2, 3}}.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := DecodeResponse(b)
		if err != nil {
			return
		}
		again, err := DecodeResponse(resp.AppendBinary(nil))
		if err != nil || !slices.Equal(again.Hashes, resp.Hashes) {
			t.Fatalf("an accepted response does not survive re-encoding: %+v, %v", again, err)
		}
	})
}

func FuzzDecodeListing(f *testing.F) {
	shape := Shape{FanoutBits: 2, Depth: 2}
	s := state{"a": 1, "b": 2, "c": 3}
	f.Add(listing(shape, s, differingBuckets(shape, s, nil)).AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeListing(b)
		if err != nil {
			return
		}
		again, err := DecodeListing(l.AppendBinary(nil))
		if err != nil || again.Shape != l.Shape || !slices.Equal(again.Buckets, l.Buckets) ||
			len(again.Entries) != len(l.Entries) || Diff(again.Entries, l.Entries) != nil {
			t.Fatalf("an accepted listing does not survive re-encoding: %+v, %v", again, err)
		}
	})
}
