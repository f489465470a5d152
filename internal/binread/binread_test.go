package binread_test

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"dynakv/internal/binread"
)

var errBad = errors.New("bad input")

func TestReadsWhatWasWritten(t *testing.T) {
	var buf []byte
	buf = append(buf, 7)
	buf = binary.AppendUvarint(buf, 300)
	buf = binary.AppendVarint(buf, -5)
	buf = binary.LittleEndian.AppendUint32(buf, 0xdeadbeef)
	buf = binary.LittleEndian.AppendUint64(buf, math.MaxUint64-1)
	buf = binary.AppendUvarint(buf, 3)
	buf = append(buf, "abc"...)
	buf = binary.AppendUvarint(buf, 2) // a count of two 1-byte elements
	buf = append(buf, 'x', 'y')

	r := binread.New(buf, errBad)
	if got := r.Byte(); got != 7 {
		t.Errorf("Byte = %d, want 7", got)
	}
	if got := r.Uvarint(); got != 300 {
		t.Errorf("Uvarint = %d, want 300", got)
	}
	if got := r.Varint(); got != -5 {
		t.Errorf("Varint = %d, want -5", got)
	}
	if got := r.Uint32(); got != 0xdeadbeef {
		t.Errorf("Uint32 = %#x, want 0xdeadbeef", got)
	}
	if got := r.Uint64(); got != math.MaxUint64-1 {
		t.Errorf("Uint64 = %d, want MaxUint64-1", got)
	}
	if got := string(r.Bytes()); got != "abc" {
		t.Errorf("Bytes = %q, want abc", got)
	}
	if got := r.Count(1); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
	if got := string(r.Take(2)); got != "xy" {
		t.Errorf("Take = %q, want xy", got)
	}
	r.End()
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v after reading everything", err)
	}
}

// A failure sticks: every later read is a zero value, and the first failure
// is the one reported, wrapping the format's sentinel.
func TestTheFirstFailureSticks(t *testing.T) {
	r := binread.New([]byte{0x80}, errBad) // a varint cut short
	if got := r.Uvarint(); got != 0 {
		t.Errorf("Uvarint of a cut varint = %d, want 0", got)
	}
	first := r.Err()
	if !errors.Is(first, errBad) {
		t.Fatalf("Err = %v, want it to wrap the sentinel", first)
	}
	if r.Byte() != 0 || r.Bytes() != nil || r.Take(0) != nil || r.Count(1) != 0 || r.Uint64() != 0 {
		t.Error("a read after a failure returned something")
	}
	r.Fail("later")
	r.Abort(errors.New("later still"))
	if r.Err() != first {
		t.Errorf("Err = %v, want the first failure %v", r.Err(), first)
	}
}

func TestAbortRecordsAnotherKindOfFailure(t *testing.T) {
	errVersion := errors.New("unknown version")
	r := binread.New([]byte{9}, errBad)
	r.Abort(errVersion)
	if !errors.Is(r.Err(), errVersion) || errors.Is(r.Err(), errBad) {
		t.Errorf("Err = %v, want exactly the aborting error", r.Err())
	}
}

// Lengths and counts the input cannot hold are refused before anyone
// allocates for them.
func TestForgedLengthsAreRefused(t *testing.T) {
	prefixed := func(n uint64) []byte { return append(binary.AppendUvarint(nil, n), "abcd"...) }
	for _, tc := range []struct {
		name  string
		input []byte
		read  func(*binread.Reader)
	}{
		{"a byte string longer than the input", prefixed(5), func(r *binread.Reader) { r.Bytes() }},
		{"a byte string of the largest length", prefixed(math.MaxUint64), func(r *binread.Reader) { r.Bytes() }},
		{"a count of more elements than fit", prefixed(2), func(r *binread.Reader) { r.Count(4) }},
	} {
		r := binread.New(tc.input, errBad)
		tc.read(&r)
		if !errors.Is(r.Err(), errBad) {
			t.Errorf("%s: Err = %v, want a failure wrapping the sentinel", tc.name, r.Err())
		}
	}
}

func TestEndRefusesTrailingBytes(t *testing.T) {
	r := binread.New([]byte{1, 2}, errBad)
	r.Byte()
	r.End()
	if !errors.Is(r.Err(), errBad) {
		t.Errorf("Err = %v, want trailing bytes refused", r.Err())
	}
}

func TestShortInputsFailEveryFixedRead(t *testing.T) {
	for name, read := range map[string]func(*binread.Reader){
		"Byte":   func(r *binread.Reader) { r.Byte() },
		"Uint32": func(r *binread.Reader) { r.Uint32() },
		"Uint64": func(r *binread.Reader) { r.Uint64() },
		"Take":   func(r *binread.Reader) { r.Take(3) },
		"Varint": func(r *binread.Reader) { r.Varint() },
	} {
		r := binread.New(nil, errBad)
		read(&r)
		if !errors.Is(r.Err(), errBad) {
			t.Errorf("%s of no input: Err = %v, want a failure", name, r.Err())
		}
	}
}

// FuzzReader runs reads chosen by the input's first bytes over the rest: no
// input panics, a read never returns more bytes than were left, and Len
// only shrinks.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, []byte{1, 5, 'a', 'b'})
	f.Add([]byte{5, 6, 4}, binary.AppendUvarint(nil, math.MaxUint64))
	f.Fuzz(func(t *testing.T, ops, input []byte) {
		r := binread.New(input, errBad)
		for _, op := range ops {
			before := r.Len()
			switch op % 8 {
			case 0:
				r.Byte()
			case 1:
				r.Uvarint()
			case 2:
				r.Varint()
			case 3:
				r.Uint32()
			case 4:
				r.Uint64()
			case 5:
				if b := r.Bytes(); len(b) > before {
					t.Fatalf("Bytes returned %d bytes of %d left", len(b), before)
				}
			case 6:
				if n := r.Count(1); n > before {
					t.Fatalf("Count returned %d with %d bytes left", n, before)
				}
			case 7:
				if b := r.Take(int(op)); len(b) > before {
					t.Fatalf("Take returned %d bytes of %d left", len(b), before)
				}
			}
			if r.Len() > before {
				t.Fatalf("Len grew from %d to %d", before, r.Len())
			}
			if r.Err() != nil && !errors.Is(r.Err(), errBad) {
				t.Fatalf("Err = %v, want it to wrap the sentinel", r.Err())
			}
		}
		r.End()
	})
}
