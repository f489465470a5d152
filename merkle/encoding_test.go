package merkle

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTreeSnapshotRoundTrip(t *testing.T) {
	shape := Shape{FanoutBits: 3, Depth: 2}
	s := randomState(rand.New(rand.NewPCG(7, 8)), 500)
	tr := build(t, shape, s, nil)
	b, err := tr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != encodedTreeSize(shape) {
		t.Fatalf("snapshot of %d bytes, want %d", len(b), encodedTreeSize(shape))
	}
	got, err := DecodeTree(b)
	if err != nil {
		t.Fatal(err)
	}
	checkMatches(t, got, s)
	if !slices.Equal(got.AppendBinary(nil), b) {
		t.Fatal("a decoded snapshot encodes differently")
	}
}

func TestDecodeRefusesDamagedSnapshots(t *testing.T) {
	tr := build(t, Shape{FanoutBits: 1, Depth: 2}, state{"a": 1, "b": 2}, nil)
	good := tr.AppendBinary(nil)
	for i := range good {
		bad := slices.Clone(good)
		bad[i] ^= 0x10
		if _, err := DecodeTree(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("byte %d flipped: %v, want ErrMalformed", i, err)
		}
	}
	for n := range len(good) {
		if _, err := DecodeTree(good[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d bytes: %v, want ErrMalformed", n, err)
		}
	}
	// A checksummed snapshot of a future format is incompatible, not broken.
	future := slices.Clone(good[:len(good)-4])
	future[0] = formatVersion + 1
	future = binary.BigEndian.AppendUint32(future, checksum(future))
	if _, err := DecodeTree(future); !errors.Is(err, ErrIncompatible) {
		t.Errorf("format %d: %v, want ErrIncompatible", formatVersion+1, err)
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	req := Request{Shape: Shape{FanoutBits: 4, Depth: 4}, Level: 3, Nodes: []int{0, 1, 2, 300, 301, 4095}}
	b := req.AppendBinary(nil)
	if len(b) != req.Size() {
		t.Fatalf("request Size %d, encoding %d", req.Size(), len(b))
	}
	gotReq, err := DecodeRequest(b)
	if err != nil || gotReq.Shape != req.Shape || gotReq.Level != req.Level || !slices.Equal(gotReq.Nodes, req.Nodes) {
		t.Fatalf("request round trip: %+v, %v", gotReq, err)
	}

	resp := Response{Hashes: []uint64{0, 1, 1 << 63, ^uint64(0)}}
	b = resp.AppendBinary(nil)
	if len(b) != resp.Size() {
		t.Fatalf("response Size %d, encoding %d", resp.Size(), len(b))
	}
	gotResp, err := DecodeResponse(b)
	if err != nil || !slices.Equal(gotResp.Hashes, resp.Hashes) {
		t.Fatalf("response round trip: %+v, %v", gotResp, err)
	}
	if _, err := DecodeRequest(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a response decoded as a request: %v", err)
	}

	shape := Shape{FanoutBits: 2, Depth: 2}
	s := state{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
	l := listing(shape, s, differingBuckets(shape, s, nil)[1:])
	b = l.AppendBinary(nil)
	if len(b) != l.Size() {
		t.Fatalf("listing Size %d, encoding %d", l.Size(), len(b))
	}
	gotL, err := DecodeListing(b)
	if err != nil || gotL.Shape != l.Shape || !slices.Equal(gotL.Buckets, l.Buckets) || Diff(gotL.Entries, l.Entries) != nil || len(gotL.Entries) != len(l.Entries) {
		t.Fatalf("listing round trip: %+v, %v", gotL, err)
	}
}

func TestDecodeListingChecksItsInvariant(t *testing.T) {
	shape := Shape{FanoutBits: 4, Depth: 2}
	a, b := []byte("a"), []byte("b")
	both := []int{shape.BucketOf(a), shape.BucketOf(b)}
	slices.Sort(both)
	for name, l := range map[string]*Listing{
		"unsorted keys":   {Shape: shape, Buckets: both, Entries: []Entry{{b, 1}, {a, 1}}},
		"repeated key":    {Shape: shape, Buckets: both, Entries: []Entry{{a, 1}, {a, 2}}},
		"absent version":  {Shape: shape, Buckets: both, Entries: []Entry{{a, Absent}}},
		"unlisted bucket": {Shape: shape, Buckets: []int{shape.BucketOf(a)}, Entries: []Entry{{a, 1}, {b, 1}}},
	} {
		if _, err := DecodeListing(l.AppendBinary(nil)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}
