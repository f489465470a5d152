package versioning

import (
	"bytes"
	"testing"
)

// threeWay returns two replicas' states of a key written concurrently through
// three coordinators, with 1 KiB values: the common shape read repair merges.
func threeWay(b *testing.B) (*Set, *Set) {
	nodes := []*node{{actor: "n1.k3j9"}, {actor: "n2.x81f"}, {actor: "n3.p0q2"}}
	var base *Set
	for i, n := range nodes {
		base = n.apply(b, base, nil, Sibling{Value: bytes.Repeat([]byte{byte(i)}, 1024), ContentType: "application/octet-stream"})
	}
	other := nodes[0].apply(b, base, base.Context(), Sibling{Value: bytes.Repeat([]byte{9}, 1024)})
	return base, other
}

func BenchmarkMerge(b *testing.B) {
	x, y := threeWay(b)
	b.ReportAllocs()
	for b.Loop() {
		Merge(x, y)
	}
}

func BenchmarkUpdate(b *testing.B) {
	x, _ := threeWay(b)
	ctx := x.Context()
	content := Sibling{Value: make([]byte, 1024), ContentType: "application/octet-stream"}
	ev := Event{Dot: Dot{"n1.k3j9", 1 << 20}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := x.Update(ctx, ev, content, 100); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	x, _ := threeWay(b)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = x.AppendBinary(buf[:0])
	}
}

// BenchmarkEncodeFresh encodes into a new buffer, as storing a write and
// answering a peer's read do.
func BenchmarkEncodeFresh(b *testing.B) {
	x, _ := threeWay(b)
	b.ReportAllocs()
	for b.Loop() {
		x.AppendBinary(nil)
	}
}

func BenchmarkDecode(b *testing.B) {
	x, _ := threeWay(b)
	buf := x.AppendBinary(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSet(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContextRoundTrip(b *testing.B) {
	x, _ := threeWay(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeContext(EncodeContext(x.Context())); err != nil {
			b.Fatal(err)
		}
	}
}
