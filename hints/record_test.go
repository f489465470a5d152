package hints

import (
	"bytes"
	"errors"
	"testing"

	"dynakv/versioning"
)

func TestRecordRoundTrip(t *testing.T) {
	s := state("key", "value")
	for _, key := range [][]byte{nil, []byte("key"), bytes.Repeat([]byte{0xff}, 300)} {
		buf := appendRecord([]byte("prefix"), 0xdeadbeef, key, -42, s)
		r, err := decodeRecord(buf[len("prefix"):])
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if r.partition != 0xdeadbeef || r.created != -42 || !bytes.Equal(r.key, key) {
			t.Errorf("decoded %+v", r)
		}
		got, err := versioning.DecodeSet(r.state)
		if err != nil || !got.Equal(s) {
			t.Errorf("state = %v, %v; want %v", got, err, s)
		}
	}
}

func TestDecodeRecordRejectsMalformed(t *testing.T) {
	good := appendRecord(nil, 1, []byte("key"), 5, state("key", "v"))
	long := append([]byte(nil), good[:recordV1Header]...)
	long = append(long, 0x7f) // key of 127 bytes, none present
	for name, b := range map[string][]byte{
		"empty":           nil,
		"short header":    good[:recordV1Header-1],
		"unknown version": append([]byte{2}, good[1:]...),
		"no key length":   good[:recordV1Header],
		"key past end":    long,
	} {
		if _, err := decodeRecord(b); !errors.Is(err, errCorruptRecord) {
			t.Errorf("%s: decodeRecord = %v, want errCorruptRecord", name, err)
		}
	}
}

// FuzzDecodeRecord: whatever bytes a hint key holds (a torn or corrupted
// value), decodeRecord returns errCorruptRecord or a record whose key and
// state, with a state that decodes, encode back to the same bytes.
//
//	go test -run XXX -fuzz FuzzDecodeRecord ./hints/
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, 7, []byte("key"), 1700000000000000, state("key", "value")))
	f.Add(appendRecord(nil, 0, nil, 0, state("", "")))
	f.Add([]byte{recordV1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, errCorruptRecord) {
				t.Fatalf("decodeRecord error %v does not wrap errCorruptRecord", err)
			}
			return
		}
		s, err := versioning.DecodeSet(r.state)
		if err != nil || s == nil {
			return // the state is checked where it is decoded, not here
		}
		again := appendRecord(nil, r.partition, r.key, r.created, s)
		back, err := decodeRecord(again)
		if err != nil || back.partition != r.partition || back.created != r.created || !bytes.Equal(back.key, r.key) {
			t.Fatalf("record %+v came back as %+v, %v", r, back, err)
		}
	})
}
